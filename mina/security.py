"""Password hashes, API and resume tokens, signed session cookies and the login throttle."""

from __future__ import annotations

import hashlib
import hmac
import secrets
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from itsdangerous import BadSignature, URLSafeTimedSerializer

API_TOKEN_PREFIX = "mina_"
_hasher = PasswordHasher()  # argon2id with the library's current recommended parameters
# A real hash to verify against when the account does not exist, so timing does not tell.
_DUMMY_HASH = _hasher.hash(secrets.token_urlsafe(16))


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    """Check a password; costs the same whether or not the account exists."""
    try:
        return _hasher.verify(password_hash or _DUMMY_HASH, password) and password_hash is not None
    except (VerificationError, InvalidHashError):
        return False


def password_needs_rehash(password_hash: str) -> bool:
    return _hasher.check_needs_rehash(password_hash)


def new_api_token() -> str:
    return API_TOKEN_PREFIX + secrets.token_urlsafe(32)


def new_resume_token() -> str:
    return secrets.token_urlsafe(32)


def hash_token(token: str) -> str:
    """Tokens are long random strings, so one SHA-256 is enough to store them safely."""
    return hashlib.sha256(token.encode()).hexdigest()


def tokens_equal(a: str, b: str) -> bool:
    return hmac.compare_digest(a.encode(), b.encode())


class CookieSigner:
    """Signs and reads the session cookie's payload (a small dict) with the secret key."""

    def __init__(self, secret_key: str, max_age_s: int) -> None:
        self._serializer = URLSafeTimedSerializer(secret_key, salt="mina-session")
        self.max_age_s = max_age_s

    def dumps(self, payload: dict[str, Any]) -> str:
        return self._serializer.dumps(payload)

    def loads(self, value: str) -> dict[str, Any] | None:
        try:
            data = self._serializer.loads(value, max_age=self.max_age_s)
        except BadSignature:
            return None
        return data if isinstance(data, dict) else None


def password_fingerprint(password_hash: str) -> str:
    """A short digest of the password hash: a new password signs every old cookie out."""
    return hashlib.sha256(password_hash.encode()).hexdigest()[:16]


@dataclass
class LoginThrottle:
    """Counts failed logins per account and per address in a sliding one-minute window.

    Kept in memory: one process serves the default install. With ``MINA_REDIS_URL`` the web
    processes count together (``mina.cluster.limits.SharedLoginThrottle``, which extends this).
    """

    limit: int
    window_s: float = 60.0
    _failures: dict[str, deque[float]] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def _keys(self, email: str, address: str) -> tuple[str, str]:
        return f"email:{email.lower()}", f"addr:{address}"

    def _recent(self, key: str, now: float) -> deque[float]:
        times = self._failures.setdefault(key, deque())
        while times and now - times[0] > self.window_s:
            times.popleft()
        return times

    def retry_after(self, email: str, address: str) -> int:
        """Seconds to wait before trying again; 0 when a try is allowed now."""
        now = time.monotonic()
        with self._lock:
            waits = []
            for key in self._keys(email, address):
                times = self._recent(key, now)
                if len(times) >= self.limit:
                    waits.append(self.window_s - (now - times[0]))
            return int(max(waits) + 1) if waits else 0

    def record_failure(self, email: str, address: str) -> None:
        now = time.monotonic()
        with self._lock:
            for key in self._keys(email, address):
                self._recent(key, now).append(now)
            if len(self._failures) > 10_000:  # forget idle keys so memory stays bounded
                for key in [k for k, v in self._failures.items() if not v]:
                    del self._failures[key]

    def record_success(self, email: str) -> None:
        with self._lock:
            self._failures.pop(f"email:{email.lower()}", None)
