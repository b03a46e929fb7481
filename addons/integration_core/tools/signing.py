"""HMAC-SHA256 webhook signatures, compared in constant time.

Shopify and our own ``X-Integration-Signature`` scheme sign the same way: the
base64 encoding of HMAC-SHA256 over the raw request body.
"""

import base64
import hashlib
import hmac

SIGNATURE_HEADER = "X-Integration-Signature"


def compute_signature(secret, body):
    """Base64 HMAC-SHA256 of ``body`` (bytes) keyed with ``secret`` (str)."""
    if isinstance(body, str):
        body = body.encode()
    digest = hmac.new(secret.encode(), body, hashlib.sha256).digest()
    return base64.b64encode(digest).decode()


def verify_signature(secret, body, signature):
    """True when ``signature`` is the signature of ``body`` with ``secret``.

    A missing secret or signature never verifies; the comparison is done in
    constant time so that timing does not reveal how much of a guess matched.
    """
    if not secret or not signature:
        return False
    expected = compute_signature(secret, body)
    return hmac.compare_digest(expected.encode(), signature.strip().encode())


def body_digest(body):
    """Hex SHA-256 of a body: the idempotency key of a message without one."""
    if isinstance(body, str):
        body = body.encode()
    return hashlib.sha256(body).hexdigest()
