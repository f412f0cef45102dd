"""Argon2id password hashing (argon2-cffi) for the ``PasswordHasher`` port of qiandao.

Every hash string carries its own parameters (``$argon2id$v=19$m=…,t=…,p=…$salt$hash``), so a
deployment can raise the cost at any time: old hashes still verify, and ``needs_rehash`` tells the
service to store a new hash at the next successful sign-in.

Install with ``pip install qiandao[argon2]``.
"""

from __future__ import annotations

from argon2 import DEFAULT_MEMORY_COST, DEFAULT_PARALLELISM, DEFAULT_TIME_COST, Type
from argon2 import PasswordHasher as _Argon2
from argon2.exceptions import InvalidHashError, VerificationError

__all__ = ["Argon2Hasher"]


class Argon2Hasher:
    """Argon2id hashing; defaults are argon2-cffi's (RFC 9106 low-memory: t=3, 64 MiB, p=4).

    ``time_cost`` is the number of passes, ``memory_cost`` is in KiB, ``parallelism`` the lanes.
    """

    def __init__(
        self,
        *,
        time_cost: int | None = None,
        memory_cost: int | None = None,
        parallelism: int | None = None,
    ) -> None:
        self._hasher = _Argon2(
            time_cost=DEFAULT_TIME_COST if time_cost is None else time_cost,
            memory_cost=DEFAULT_MEMORY_COST if memory_cost is None else memory_cost,
            parallelism=DEFAULT_PARALLELISM if parallelism is None else parallelism,
            type=Type.ID,
        )

    @classmethod
    def fast(cls) -> Argon2Hasher:
        """A deliberately cheap hasher (t=1, 64 KiB, p=1) for tests and demos; never production."""
        return cls(time_cost=1, memory_cost=64, parallelism=1)

    @property
    def time_cost(self) -> int:
        """Passes over memory of new hashes."""
        return self._hasher.time_cost

    @property
    def memory_cost(self) -> int:
        """Memory of new hashes, in KiB."""
        return self._hasher.memory_cost

    @property
    def parallelism(self) -> int:
        """Lanes of new hashes."""
        return self._hasher.parallelism

    def __repr__(self) -> str:
        return (
            f"Argon2Hasher(time_cost={self.time_cost}, memory_cost={self.memory_cost}, "
            f"parallelism={self.parallelism})"
        )

    def hash(self, password: str) -> str:
        """A new salted Argon2id hash of ``password`` with this hasher's parameters."""
        return self._hasher.hash(password)

    def verify(self, password_hash: str, password: str) -> bool:
        """Whether ``password`` matches; False (never an exception) on mismatch or a bad hash."""
        try:
            return self._hasher.verify(password_hash, password)
        except (VerificationError, InvalidHashError):
            return False

    def needs_rehash(self, password_hash: str) -> bool:
        """Whether the hash was made with other parameters (or is unreadable) than this hasher's."""
        try:
            return self._hasher.check_needs_rehash(password_hash)
        except InvalidHashError:
            return True
