"""Pure-Python mechanics: signing, schemas, backoff, redaction, rate limit."""

import datetime
import json
from email.utils import format_datetime

from ..tools.backoff import backoff_seconds, parse_retry_after, retry_delay
from ..tools.batching import next_batch_size
from ..tools.http_client import RateLimiter
from ..tools.redaction import redact_headers, redact_mapping, redact_text
from ..tools.schema import schema_violations
from ..tools.signing import body_digest, compute_signature, verify_signature
from ..tools.storable import storable_key, storable_text, unstorable_values


def test_signature_roundtrip_and_tampering():
    body = b'{"id": 1}'
    signature = compute_signature("s3cret", body)
    assert verify_signature("s3cret", body, signature)
    assert not verify_signature("s3cret", body + b" ", signature)
    assert not verify_signature("other", body, signature)
    assert not verify_signature("s3cret", body, None)
    assert not verify_signature("", body, signature)
    assert not verify_signature("s3cret", body, "not base64 at all")


def test_signature_matches_shopify_scheme():
    # base64(HMAC-SHA256(secret, raw body)), as Shopify documents it.
    import base64
    import hashlib
    import hmac

    body = b'{"email":"a@example.com"}'
    expected = base64.b64encode(
        hmac.new(b"key", body, hashlib.sha256).digest()
    ).decode()
    assert compute_signature("key", body) == expected


def test_body_digest_is_stable():
    assert body_digest(b"abc") == body_digest("abc")
    assert len(body_digest(b"abc")) == 64


def test_schema_violations_list_every_path():
    schema = json.dumps(
        {
            "type": "object",
            "required": ["id", "lines"],
            "properties": {
                "id": {"type": "integer"},
                "lines": {
                    "type": "array",
                    "items": {"type": "object", "required": ["sku"]},
                },
            },
        }
    )
    problems = schema_violations(schema, {"id": "x", "lines": [{"sku": "A"}, {}]})
    assert problems == [
        "$.id: 'x' is not of type 'integer'",
        "$.lines[1]: 'sku' is a required property",
    ]
    assert schema_violations(schema, {"id": 1, "lines": []}) == []
    assert schema_violations(None, {"anything": True}) == []


def test_backoff_doubles_and_caps():
    assert [backoff_seconds(n, base=30, cap=200) for n in (1, 2, 3, 4)] == [
        30,
        60,
        120,
        200,
    ]
    assert retry_delay(3, retry_after=7, base=30) == 7
    assert retry_delay(3, retry_after=None, base=30) == 120


def test_batches_sized_by_time_grow_slowly_and_shrink_at_once():
    # a fast batch: at most twice as many rows next
    assert next_batch_size(50, 0.001, 0.1, 2000) == 100
    # on pace: the same size
    assert next_batch_size(400, 0.1, 0.1, 2000) == 400
    # a batch four times too long: a quarter next, not a step down
    assert next_batch_size(400, 0.4, 0.1, 2000) == 100
    # never below the floor, never above the ceiling
    assert next_batch_size(20, 5.0, 0.1, 2000) == 10
    assert next_batch_size(1500, 0.01, 0.1, 2000) == 2000
    assert next_batch_size(5, 0.001, 0.1, 5) == 5


def test_retry_after_seconds_and_http_date():
    assert parse_retry_after("2") == 2.0
    assert parse_retry_after(None) is None
    assert parse_retry_after("soon") is None
    now = datetime.datetime(2026, 1, 1, 12, 0, tzinfo=datetime.timezone.utc)
    later = format_datetime(now + datetime.timedelta(seconds=90), usegmt=True)
    assert parse_retry_after(later, now=now) == 90.0


def test_redaction():
    assert redact_text("token=abcd1234 ok", ["abcd1234"]) == "token=*** ok"
    assert redact_text("short ab", ["ab"]) == "short ab"  # too short to mask
    # a token the remote issues is masked by its key, as in JSON or a form
    answer = '{"access_token": "shpca_fresh", "expires_in": 3600}'
    assert redact_text(answer, []) == '{"access_token": "***", "expires_in": 3600}'
    form = "grant_type=client_credentials&client_secret=s3cr3t&x=1"
    assert redact_text(form, []) == (
        "grant_type=client_credentials&client_secret=***&x=1"
    )
    # whole JSON strings (spaces, escaped quotes), camelCase keys, headers
    assert redact_text('{"password": "correct horse, \\"battery\\""}', []) == (
        '{"password": "***"}'
    )
    assert redact_text('{"accessToken":"abc def","n":1}', []) == (
        '{"accessToken":"***","n":1}'
    )
    assert redact_text("Authorization: Bearer abc.def", []) == "Authorization: ***"
    assert redact_text("X-Shopify-Access-Token: shpat_1", []) == (
        "X-Shopify-Access-Token: ***"
    )
    # amounts and other fields stay readable
    assert redact_text('{"total_tax": "8.18"}', []) == '{"total_tax": "8.18"}'
    headers = redact_headers({"X-Shopify-Access-Token": "t", "Accept": "json"})
    assert headers == {"X-Shopify-Access-Token": "***", "Accept": "json"}
    assert redact_mapping({"client_secret": "x", "n": [{"password": 1}]}) == {
        "client_secret": "***",
        "n": [{"password": "***"}],
    }


def test_rate_limiter_waits_for_tokens():
    clock = [0.0]
    waits = []

    def sleep(seconds):
        waits.append(seconds)
        clock[0] += seconds

    limiter = RateLimiter(2, burst=2, clock=lambda: clock[0], sleep=sleep)
    for _i in range(4):
        limiter.acquire()
    # two calls from the burst, then one every half second
    assert [round(w, 2) for w in waits] == [0.5, 0.5]


def test_unstorable_values_are_named_by_path():
    problems = unstorable_values(
        {
            "name": "a\x00b",
            "lines": [{"qty": 10**40}, {"price": float("inf")}],
            "note": "\ud800",
            "bad\x00key": 1,
            "ok": [1.5, -(2**53), True, None, "🦄"],
        }
    )
    assert problems == [
        "$.name: contains a NUL character (\\u0000), which cannot be stored",
        "$.lines[0].qty: the number 100000000000... (41 digits) is too large",
        "$.lines[1].price: inf is not a number",
        "$.note: contains an invalid Unicode escape (a lone surrogate)",
        "$: a key contains a NUL character (\\u0000), which cannot be stored",
    ]
    # and they come first among a schema's violations
    assert schema_violations('{"type": "object"}', {"x": "\x00"})[0].startswith("$.x")


def test_storable_text_and_keys():
    assert storable_text("a\x00b\ud800c", 10) == "ab?c"
    assert storable_text(12345, 3) == "123"
    assert storable_text(None, 5) is None
    assert storable_key("order:1:2026") == "order:1:2026"
    long_a, long_b = "k" * 300 + "a", "k" * 300 + "b"
    assert storable_key(long_a).startswith("sha256:")
    assert storable_key(long_a) != storable_key(long_b)
    assert storable_key("x\x00") != storable_key("x")


def test_redaction_of_long_text_is_linear():
    # a 200,000-letter run took minutes with an unbounded key prefix
    text = "a" * 200_000 + ' "access_token": "s3cr3t"'
    assert redact_text(text, []).endswith('"access_token": "***"')
