"""Security ports: password hashing, credential delivery, external identity (浙政钉 sign-in)."""

from __future__ import annotations

from typing import Protocol

from qiandao.model import Account, ExternalIdentity

__all__ = ["CredentialDelivery", "IdentityProvider", "PasswordHasher"]


class PasswordHasher(Protocol):
    """Hashes and verifies passwords; parameters are stored inside each hash string."""

    def hash(self, password: str) -> str: ...
    def verify(self, password_hash: str, password: str) -> bool: ...
    def needs_rehash(self, password_hash: str) -> bool: ...


class IdentityProvider(Protocol):
    """Turns an external sign-in proof (a scanned code's ticket) into an identity, or raises."""

    name: str

    def verify(self, ticket: str) -> ExternalIdentity: ...


class CredentialDelivery(Protocol):
    """Hands a new or reset password to the person alone, never to the administrator (三员分立).

    SMS to ``phone`` in production; ``qiandao_adapters.delivery`` has a recording adapter for
    tests and a console adapter for the demo. ``account`` is the account as it will be saved
    (its id, real name and jurisdiction, e.g. for the message text); ``phone`` is its normalised
    mobile number; ``password`` is the initial password, which must be changed at first sign-in.

    Called inside the command's transaction, before it commits: raising means "not delivered",
    and the command then changes nothing (``account.delivery_failed``). A command that fails
    after a delivery (its commit) leaves that password invalid; the password of the last
    successful command is the one that signs in.
    """

    def deliver(self, account: Account, phone: str, password: str) -> None: ...
