"""Security ports: password hashing, credential delivery, external identity (浙政钉 sign-in)."""

from __future__ import annotations

from typing import Protocol

from qiandao.model import Account, ExternalIdentity

__all__ = ["CredentialDelivery", "IdentityProvider", "PasswordHasher"]


class PasswordHasher(Protocol):
    """Hashes and verifies passwords; parameters are stored inside each hash string."""

    def hash(self, password: str) -> str:
        """A new salted hash of ``password``, carrying its own parameters (never the password)."""
        ...

    def verify(self, password_hash: str, password: str) -> bool:
        """Whether ``password`` matches the hash; ``False`` (never an exception) on a mismatch
        or an unreadable hash."""
        ...

    def needs_rehash(self, password_hash: str) -> bool:
        """Whether the hash was made with other parameters than this hasher's (or is
        unreadable): the service stores a new hash at the next successful sign-in."""
        ...


class IdentityProvider(Protocol):
    """Turns an external sign-in proof (a scanned code's ticket) into an identity, or raises."""

    name: str
    """The provider's name (e.g. ``zzd``), as a sign-in names it and ``ExternalIdentity``."""

    def verify(self, ticket: str) -> ExternalIdentity:
        """The identity the ticket proves, whose ``provider`` is :attr:`name` and whose subject
        is not empty (else ``account.auth_failed``); raises when the ticket is bad."""
        ...


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

    def deliver(self, account: Account, phone: str, password: str) -> None:
        """Send ``password`` to ``phone`` for ``account``; raising means "not delivered" and the
        command changes nothing."""
        ...
