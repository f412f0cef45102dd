"""What every response and every form carries: the security headers and the CSRF token.

The CSRF token is an HMAC of the browser's session token (or, before sign-in, of a random
pre-session cookie) under the portal's secret: a page from another site can neither read it
nor compute it, and it dies with the session. Cookies are ``HttpOnly`` and ``SameSite=Strict``.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

__all__ = [
    "PRE_COOKIE",
    "SECURITY_HEADERS",
    "SESSION_COOKIE",
    "csrf_token",
    "csrf_valid",
    "new_secret",
]

SESSION_COOKIE = "qd_session"
PRE_COOKIE = "qd_pre"

SECURITY_HEADERS: dict[str, str] = {
    # no script at all, styles and images only from the portal itself, never framed elsewhere
    "Content-Security-Policy": (
        "default-src 'none'; style-src 'self'; img-src 'self' data:; form-action 'self'; "
        "frame-ancestors 'self'; base-uri 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "SAMEORIGIN",
    "Referrer-Policy": "no-referrer",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=(), clipboard-read=()",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Cross-Origin-Resource-Policy": "same-origin",
    # watermarked pages are not kept by the browser or a proxy (第十八条)
    "Cache-Control": "no-store",
}
"""Sent with every response (``Strict-Transport-Security`` too when served over HTTPS)."""


def new_secret() -> bytes:
    """A fresh signing secret (a host passes its own, kept outside the database)."""
    return secrets.token_bytes(32)


def csrf_token(secret: bytes, seed: str) -> str:
    """The form token bound to ``seed`` (the session token, or the pre-session cookie)."""
    return hmac.new(secret, b"csrf:" + seed.encode(), hashlib.sha256).hexdigest()


def csrf_valid(secret: bytes, seed: str | None, posted: str | None) -> bool:
    """Whether a posted token is the one this browser's pages carry."""
    if not seed or not posted:
        return False
    return hmac.compare_digest(csrf_token(secret, seed), posted)
