"""How a delivery is signed: ``X-Mina-Signature: sha256=<hex HMAC-SHA256 of the raw body>``."""

from __future__ import annotations

import hashlib
import hmac

SIGNATURE_PREFIX = "sha256="


def sign_body(secret: str, body: bytes) -> str:
    """The ``X-Mina-Signature`` value of ``body`` under ``secret``."""
    digest = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    return SIGNATURE_PREFIX + digest


def verify_signature(secret: str, body: bytes, signature: str) -> bool:
    """Whether ``signature`` is the header value ``sign_body`` gives (constant-time)."""
    return hmac.compare_digest(sign_body(secret, body), signature)
