"""Keep secrets out of logs, message headers and payload dumps."""

import re

REDACTED = "***"
SENSITIVE_HEADERS = {
    "authorization",
    "proxy-authorization",
    "cookie",
    "set-cookie",
    "x-shopify-access-token",
    "x-api-key",
    "api-key",
}
_SENSITIVE_KEY = re.compile(
    r"(password|secret|token|api[_-]?key|authorization|client[_-]?secret)", re.I
)

# A credential's value in JSON ("access_token": "..."), a form or query
# string (client_secret=...) or a header line (Authorization: Bearer ...): a
# token the remote just issued is no configured secret.
# The key starts a word and has a bounded prefix: an unbounded one made the
# scan quadratic in a long run of letters (seconds for a 5,000-letter value).
_CREDENTIAL_KEY = (
    r"(?<![a-z_-])"
    r"(?:[a-z_-]{0,40}?(?:token|secret|password|passwd|api[_-]?key)|authorization)"
)
_CREDENTIAL_VALUE = re.compile(
    r"(" + _CREDENTIAL_KEY + r"\"?\s*[:=]\s*)"
    r"(\"(?:\\.|[^\"\\])*\"|(?:bearer|basic)\s+[^\s\"&,;}]+|[^\s\"&,;}]+)",
    re.I,
)


def _mask_value(match):
    value = match.group(2)
    if value.startswith('"'):
        return f'{match.group(1)}"{REDACTED}"'
    return match.group(1) + REDACTED


def redact_text(text, secrets):
    """Replace every occurrence of each secret (longer than 3 chars) in text,
    and the value of anything that looks like a credential."""
    if not text:
        return text
    for secret in sorted(
        (s for s in secrets if s and len(s) > 3), key=len, reverse=True
    ):
        text = text.replace(secret, REDACTED)
    return _CREDENTIAL_VALUE.sub(_mask_value, text)


def redact_headers(headers):
    """A copy of headers with credential-bearing ones masked."""
    return {
        key: (REDACTED if key.lower() in SENSITIVE_HEADERS else value)
        for key, value in dict(headers or {}).items()
    }


def redact_mapping(data):
    """A copy of a JSON-like structure with credential-looking keys masked."""
    if isinstance(data, dict):
        return {
            key: (
                REDACTED
                if isinstance(key, str) and _SENSITIVE_KEY.search(key)
                else redact_mapping(value)
            )
            for key, value in data.items()
        }
    if isinstance(data, list):
        return [redact_mapping(item) for item in data]
    return data
