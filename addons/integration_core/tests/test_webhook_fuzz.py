"""The core's own webhook scheme (``X-Integration-Signature``) under signed
garbage, envelope headers included: never a 5xx, every body explained."""

from unittest.mock import patch

from odoo.tests import tagged

from .common import IntegrationHttpCase, WebhookFuzzMixin, signed_headers
from .fuzz import BAD_VALUES

# what an HTTP header can carry (Latin-1, no control characters)
HEADER_VALUES = [
    v
    for v in BAD_VALUES
    if isinstance(v, str)
    and v.isprintable()
    and v.encode("latin-1", "ignore") == v.encode()
]


@tagged("post_install", "-at_install")
class TestGenericWebhookFuzz(WebhookFuzzMixin, IntegrationHttpCase):
    fuzz_bodies = 150  # the generic body is small; Shopify's test posts 520

    def fuzz_samples(self):
        return [("partner.upsert", {"id": "C1", "name": "Ann", "email": "a@b.c"})]

    def fuzz_stamp(self, topic, body, n):
        return dict(body, id=f"C{n}")

    def fuzz_headers(self, topic, body, n):
        # the envelope's headers too: keys and ids of any text
        bad = HEADER_VALUES[n % len(HEADER_VALUES)]
        headers = {"X-Integration-Idempotency-Key": f"k{n}"}
        if n % 3 == 1:
            headers["X-Integration-Idempotency-Key"] = f"{bad}{n}"
        if n % 3 == 2:
            headers["X-Integration-External-Id"] = (bad * 50)[:3000]
            headers["X-Correlation-Id"] = (bad * 60)[:3000]
        return signed_headers(body, **headers)

    def test_signed_garbage_is_stored_and_explained_never_a_5xx(self):
        messages = self.assert_fuzzed_webhooks_are_explained()
        self.assertGreaterEqual(len(messages), 140)
        self.assertTrue(messages.filtered(lambda m: m.state == "done"))

    def test_an_envelope_that_raises_still_stores_the_body(self):
        backend_class = type(self.env["integration.backend"])
        original = backend_class._default_webhook_envelope

        def choking(backend, headers, body):
            if body:
                raise ValueError("bad date in the body")
            return original(backend, headers, body)

        body = b'{"id": "C9", "name": "Ann"}'
        with patch.object(backend_class, "_default_webhook_envelope", choking):
            response = self.fuzz_post(signed_headers(body), body)
        self.assertEqual(response.status_code, 200)
        message = self.env["integration.message"].browse(response.json()["message_id"])
        self.assertEqual(message.message_type, "partner.upsert")
        self.assertTrue(message.idempotency_key.startswith("unreadable:"))
        self.assertEqual(message._payload_bytes(), body)
