"""Encryption ports: a ``Cipher`` seals bytes, a ``KeyProvider`` holds the key-encryption keys.

Every ``Sealed`` value names its algorithm, key id and nonce, so data sealed under an old key or
another algorithm stays readable after a rotation. The implementations (AES-256-GCM, SM4-GCM,
envelope keys, the blind index) live in ``qiandao_adapters.crypto``; the domain never imports
``cryptography``.
"""

from __future__ import annotations

import base64
import binascii
import re
from typing import Protocol

import attrs

from qiandao.errors import CiphertextInvalid

__all__ = ["Cipher", "KeyProvider", "Sealed"]

_VERSION = "v1"
_TOKEN = re.compile(r"[A-Za-z0-9._-]{1,64}")
_MAX_TEXT = 64 * 1024 * 1024


def _token(field: str, value: object) -> None:
    if not (isinstance(value, str) and value.isascii() and _TOKEN.fullmatch(value)):
        raise CiphertextInvalid(field=field)


def _b64decode(field: str, text: str) -> bytes:
    """Strict standard base64: the canonical padded form only, so one value has one encoding."""
    try:
        raw = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raise CiphertextInvalid(field=field) from None
    if base64.b64encode(raw).decode("ascii") != text:
        raise CiphertextInvalid(field=field)
    return raw


@attrs.frozen
class Sealed:
    """One encrypted value: ``ciphertext`` ends with the 16-byte GCM tag.

    ``algorithm`` and ``key_id`` are short ASCII tokens (letters, digits, ``.``, ``_``, ``-``);
    anything else is refused with ``crypto.invalid``.
    """

    algorithm: str
    """Name of the algorithm that sealed it (e.g. ``AES-256-GCM``, ``SM4-GCM``)."""
    key_id: str
    """Id of the key it was sealed under."""
    nonce: bytes
    """The nonce used (never empty)."""
    ciphertext: bytes
    """The encrypted bytes followed by the 16-byte GCM tag."""

    def __attrs_post_init__(self) -> None:
        _token("algorithm", self.algorithm)
        _token("key_id", self.key_id)
        for field in ("nonce", "ciphertext"):
            value = getattr(self, field)
            if not isinstance(value, bytes) or (not value and field == "nonce"):
                raise CiphertextInvalid(field=field)

    def encode(self) -> str:
        """The stable text form ``v1:<algorithm>:<key id>:<base64 nonce>:<base64 ciphertext>``."""
        nonce = base64.b64encode(self.nonce).decode("ascii")
        body = base64.b64encode(self.ciphertext).decode("ascii")
        return f"{_VERSION}:{self.algorithm}:{self.key_id}:{nonce}:{body}"

    def to_bytes(self) -> bytes:
        """The text form as ASCII bytes, for a binary column."""
        return self.encode().encode("ascii")

    @classmethod
    def parse(cls, text: object) -> Sealed:
        """The value from its text (or ASCII bytes) form; anything malformed: ``crypto.invalid``."""
        if isinstance(text, bytes):
            try:
                text = text.decode("ascii")
            except UnicodeDecodeError:
                raise CiphertextInvalid(field="sealed") from None
        if not isinstance(text, str) or len(text) > _MAX_TEXT:
            raise CiphertextInvalid(field="sealed")
        parts = text.split(":")
        if len(parts) != 5 or parts[0] != _VERSION:
            raise CiphertextInvalid(field="sealed")
        _, algorithm, key_id, nonce, body = parts
        return cls(algorithm, key_id, _b64decode("nonce", nonce), _b64decode("ciphertext", body))


class Cipher(Protocol):
    """Authenticated encryption bound to ``associated`` data (e.g. table, column and row id).

    ``decrypt`` raises ``crypto.tampered`` when anything sealed or the associated data changed,
    ``crypto.key_unknown`` for a key id it does not hold and ``crypto.invalid`` for another
    algorithm or a malformed value.
    """

    @property
    def algorithm(self) -> str:
        """The algorithm's name written into every ``Sealed`` (e.g. ``AES-256-GCM``)."""
        ...

    def encrypt(self, plaintext: bytes, *, associated: bytes) -> Sealed:
        """``plaintext`` sealed under a fresh nonce and bound to ``associated``; naming this
        cipher's algorithm and key id, so two calls never give the same ciphertext."""
        ...

    def decrypt(self, sealed: Sealed, *, associated: bytes) -> bytes:
        """The plaintext of ``sealed`` if it and ``associated`` are unchanged: else
        ``crypto.tampered``; ``crypto.key_unknown`` / ``crypto.invalid`` as above."""
        ...


class KeyProvider(Protocol):
    """Holds the key-encryption keys (file, environment, or a KMS/HSM) and wraps data keys.

    ``wrap`` seals a data key under the current key; ``unwrap`` opens it under the key it names
    (``crypto.key_unknown`` once that key is gone). A KMS-backed provider may refuse ``key``.
    """

    @property
    def current_key_id(self) -> str:
        """The id of the key new wraps are made under."""
        ...

    def key(self, key_id: str) -> bytes:
        """The raw key-encryption key of ``key_id``; ``crypto.key_unknown`` if not held."""
        ...

    def wrap(self, data_key: bytes, *, associated: bytes) -> Sealed:
        """``data_key`` sealed under the current key (:attr:`current_key_id`), bound to
        ``associated``."""
        ...

    def unwrap(self, wrapped: Sealed, *, associated: bytes) -> bytes:
        """The data key sealed in ``wrapped``, opened under the key it names:
        ``crypto.key_unknown`` once that key is gone, ``crypto.tampered`` if anything changed."""
        ...
