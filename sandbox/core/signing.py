"""HMAC signing shared by systems.

Shopify signs webhooks in ``X-Shopify-Hmac-Sha256``; the suite's other
connectors (WMS, carrier, bank) use the same scheme in
``X-Integration-Signature``: base64 of HMAC-SHA256 over the raw body.
"""

import base64
import hashlib
import hmac

INTEGRATION_SIGNATURE_HEADER = "X-Integration-Signature"


def hmac_sha256_b64(secret, body):
    if isinstance(secret, str):
        secret = secret.encode("utf-8")
    return base64.b64encode(hmac.new(secret, body, hashlib.sha256).digest()).decode()


def verify_hmac_sha256_b64(secret, body, signature):
    return hmac.compare_digest(
        hmac_sha256_b64(secret, body).encode(), (signature or "").encode()
    )
