"""Security ports: password hashing and external identity (浙政钉-style sign-in)."""

from __future__ import annotations

from typing import Protocol

from qiandao.model import ExternalIdentity

__all__ = ["IdentityProvider", "PasswordHasher"]


class PasswordHasher(Protocol):
    """Hashes and verifies passwords; parameters are stored inside each hash string."""

    def hash(self, password: str) -> str: ...
    def verify(self, password_hash: str, password: str) -> bool: ...
    def needs_rehash(self, password_hash: str) -> bool: ...


class IdentityProvider(Protocol):
    """Turns an external sign-in proof (a scanned code's ticket) into an identity, or raises."""

    name: str

    def verify(self, ticket: str) -> ExternalIdentity: ...
