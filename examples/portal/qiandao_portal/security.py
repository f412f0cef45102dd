"""What every response and every form carries: the security headers and the CSRF token.

The CSRF token is an HMAC of the browser's session token (or, before sign-in, of a random
pre-session cookie) under the portal's secret: a page from another site can neither read it
nor compute it, and it dies with the session. Cookies are ``HttpOnly`` and ``SameSite=Strict``.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import threading
import time
from collections import OrderedDict, deque
from collections.abc import Callable

__all__ = [
    "PRE_COOKIE",
    "SECURITY_HEADERS",
    "SESSION_COOKIE",
    "SignInThrottle",
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


class SignInThrottle:
    """Failed sign-ins counted per client address over a sliding window.

    Past ``limit`` failures in ``window`` seconds an address's sign-ins are refused before they
    reach the library: the library locks one account after a few wrong passwords, but one
    address could still try a password on every number, or lock every account. The request
    rate is the host's to limit (docs/security.md). Per process and in memory; behind a proxy
    the address is the client's only when uvicorn trusts the proxy's ``X-Forwarded-For``
    (``--forwarded-allow-ips``), and several processes want the proxy to limit as well.
    """

    def __init__(
        self,
        limit: int = 20,
        window: float = 600.0,
        *,
        clock: Callable[[], float] = time.monotonic,
        most: int = 10_000,
    ) -> None:
        self.limit = limit
        self.window = window
        self._clock = clock
        self._most = most  # addresses remembered at once: the oldest are forgotten first
        self._failures: OrderedDict[str, deque[float]] = OrderedDict()
        self._lock = threading.Lock()

    def blocked(self, address: str) -> bool:
        """Whether the address has used up its failures for now."""
        with self._lock:
            return len(self._recent(address)) >= self.limit

    def failed(self, address: str) -> None:
        """Count one failed sign-in of the address."""
        with self._lock:
            times = self._recent(address)
            times.append(self._clock())
            self._failures[address] = times
            self._failures.move_to_end(address)
            while len(self._failures) > self._most:
                self._failures.popitem(last=False)

    def _recent(self, address: str) -> deque[float]:
        """The address's failures inside the window (a new, unstored list for a clean one)."""
        times = self._failures.get(address, deque())
        since = self._clock() - self.window
        while times and times[0] <= since:
            times.popleft()
        return times
