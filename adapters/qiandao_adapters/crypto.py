"""Encryption at rest on ``cryptography``: AES-256-GCM, SM4-GCM, envelope keys, a blind index.

- ``AesGcmCipher`` / ``Sm4GcmCipher``: the ``Cipher`` port under one key, random 96-bit nonces.
- ``KeyRing`` (and ``FileKeyProvider`` / ``EnvKeyProvider``): the ``KeyProvider`` port for small
  hosts, keys in base64 from a file or an environment variable; production uses a KMS or HSM.
- ``EnvelopeCipher``: a fresh data key per scope (e.g. one person), wrapped by the provider's
  key-encryption key; the host stores the wrapped key, and destroying it shreds the scope.
- ``BlindIndex``: a keyed token of a normalised phone number for lookups (HMAC-SM3 or SHA-256).

Install with ``pip install qiandao[crypto]``.
"""

from __future__ import annotations

import base64
import binascii
import hmac as _hmac
import os
import secrets
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import ClassVar

from cryptography.exceptions import InvalidTag, UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives import hmac as _chmac
from cryptography.hazmat.primitives.ciphers import Cipher as _Cipher
from cryptography.hazmat.primitives.ciphers import algorithms, modes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from qiandao.accounts import normalise_phone
from qiandao.errors import (
    CiphertextInvalid,
    CiphertextTampered,
    CryptoUnavailable,
    KeyUnknown,
)
from qiandao.ports.crypto import Cipher, KeyProvider, Sealed

__all__ = [
    "AES_256_GCM",
    "SM4_GCM",
    "AesGcmCipher",
    "BlindIndex",
    "EnvKeyProvider",
    "EnvelopeCipher",
    "FileKeyProvider",
    "KeyRing",
    "Sm4GcmCipher",
    "cipher_for",
    "configured_provider",
    "local_key_file",
]

AES_256_GCM = "AES-256-GCM"
"""The name of AES with a 256-bit key in GCM mode, as a ``Sealed`` value records it."""
SM4_GCM = "SM4-GCM"
"""The name of SM4 (GB/T 32907) in GCM mode, as a ``Sealed`` value records it."""
NONCE_BYTES = 12
TAG_BYTES = 16


class _GcmCipher:
    """One key, one key id: seals with a fresh random nonce, opens only what it sealed."""

    algorithm: ClassVar[str]
    key_bytes: ClassVar[int]

    def __init__(self, key: bytes, *, key_id: str) -> None:
        if not isinstance(key, bytes) or len(key) != self.key_bytes:
            raise CiphertextInvalid(f"{self.algorithm} 密钥须为 {self.key_bytes} 字节", field="key")
        Sealed(self.algorithm, key_id, bytes(NONCE_BYTES), b"")  # refuses a malformed key id
        self._key = key
        self.key_id = key_id

    def __repr__(self) -> str:
        return f"{type(self).__name__}(key_id={self.key_id!r})"  # never the key

    def encrypt(self, plaintext: bytes, *, associated: bytes) -> Sealed:
        """``plaintext`` sealed under this key, bound to ``associated``."""
        nonce = secrets.token_bytes(NONCE_BYTES)
        return Sealed(self.algorithm, self.key_id, nonce, self._seal(nonce, plaintext, associated))

    def decrypt(self, sealed: Sealed, *, associated: bytes) -> bytes:
        """The plaintext, or ``crypto.tampered`` / ``crypto.key_unknown`` / ``crypto.invalid``."""
        if not isinstance(sealed, Sealed) or sealed.algorithm != self.algorithm:
            raise CiphertextInvalid(field="algorithm")
        if sealed.key_id != self.key_id:
            raise KeyUnknown(key_id=sealed.key_id)
        if len(sealed.nonce) != NONCE_BYTES or len(sealed.ciphertext) < TAG_BYTES:
            raise CiphertextInvalid(field="sealed")
        try:
            return self._open(sealed.nonce, sealed.ciphertext, associated)
        except InvalidTag:
            raise CiphertextTampered(key_id=sealed.key_id) from None

    def _seal(self, nonce: bytes, plaintext: bytes, associated: bytes) -> bytes:
        raise NotImplementedError

    def _open(self, nonce: bytes, ciphertext: bytes, associated: bytes) -> bytes:
        raise NotImplementedError


class AesGcmCipher(_GcmCipher):
    """AES-256-GCM (a 32-byte key) through OpenSSL's AEAD interface."""

    algorithm = AES_256_GCM
    key_bytes = 32

    def __init__(self, key: bytes, *, key_id: str) -> None:
        super().__init__(key, key_id=key_id)
        self._aead = AESGCM(key)

    def _seal(self, nonce: bytes, plaintext: bytes, associated: bytes) -> bytes:
        return self._aead.encrypt(nonce, plaintext, associated)

    def _open(self, nonce: bytes, ciphertext: bytes, associated: bytes) -> bytes:
        return self._aead.decrypt(nonce, ciphertext, associated)


class Sm4GcmCipher(_GcmCipher):
    """SM4-GCM (国密, GB/T 32907; a 16-byte key, RFC 8998); ``crypto.unavailable`` without SM4."""

    algorithm = SM4_GCM
    key_bytes = 16

    def __init__(self, key: bytes, *, key_id: str) -> None:
        super().__init__(key, key_id=key_id)
        try:
            _Cipher(algorithms.SM4(key), modes.GCM(bytes(NONCE_BYTES))).encryptor()
        except (UnsupportedAlgorithm, AttributeError):
            raise CryptoUnavailable(
                "当前加密库（OpenSSL）不支持 SM4-GCM", algorithm=SM4_GCM
            ) from None

    def _seal(self, nonce: bytes, plaintext: bytes, associated: bytes) -> bytes:
        encryptor = _Cipher(algorithms.SM4(self._key), modes.GCM(nonce)).encryptor()
        encryptor.authenticate_additional_data(associated)
        body = encryptor.update(plaintext) + encryptor.finalize()
        return body + encryptor.tag

    def _open(self, nonce: bytes, ciphertext: bytes, associated: bytes) -> bytes:
        body, tag = ciphertext[:-TAG_BYTES], ciphertext[-TAG_BYTES:]
        decryptor = _Cipher(algorithms.SM4(self._key), modes.GCM(nonce, tag)).decryptor()
        decryptor.authenticate_additional_data(associated)
        return decryptor.update(body) + decryptor.finalize()


_CIPHERS: dict[str, type[_GcmCipher]] = {AES_256_GCM: AesGcmCipher, SM4_GCM: Sm4GcmCipher}


def cipher_for(algorithm: str, key: bytes, *, key_id: str) -> AesGcmCipher | Sm4GcmCipher:
    """The cipher of ``algorithm`` (``AES-256-GCM`` or ``SM4-GCM``) under ``key``."""
    kind = _CIPHERS.get(algorithm)
    if kind is None:
        raise CiphertextInvalid(f"不支持的算法：{algorithm}", field="algorithm")
    cipher = kind(key, key_id=key_id)
    assert isinstance(cipher, AesGcmCipher | Sm4GcmCipher)
    return cipher


def _key_bytes(algorithm: str) -> int:
    kind = _CIPHERS.get(algorithm)
    if kind is None:
        raise CiphertextInvalid(f"不支持的算法：{algorithm}", field="algorithm")
    return kind.key_bytes


class KeyRing:
    """Key-encryption keys by id, one of them current; wraps data keys with ``algorithm``.

    Several ids make rotation possible: new wraps use ``current``, old wraps still open until
    their key is removed (then ``crypto.key_unknown``). For small hosts; production keeps the
    keys in a KMS or HSM behind its own ``KeyProvider``.
    """

    def __init__(
        self, keys: Mapping[str, bytes], *, current: str, algorithm: str = AES_256_GCM
    ) -> None:
        if current not in keys:
            raise KeyUnknown(key_id=current)
        self.algorithm = algorithm
        self._ciphers = {
            key_id: cipher_for(algorithm, k, key_id=key_id) for key_id, k in keys.items()
        }
        self._keys = dict(keys)
        self._current = current

    @classmethod
    def generate(cls, *, key_id: str = "local-1", algorithm: str = AES_256_GCM) -> KeyRing:
        """A ring of one fresh random key, for the demo and tests (kept nowhere: lost on exit)."""
        return cls(
            {key_id: secrets.token_bytes(_key_bytes(algorithm))},
            current=key_id,
            algorithm=algorithm,
        )

    def __repr__(self) -> str:
        return f"{type(self).__name__}(key_ids={sorted(self._keys)!r}, current={self._current!r})"

    @property
    def current_key_id(self) -> str:
        """The id new wraps are made under."""
        return self._current

    @property
    def key_ids(self) -> tuple[str, ...]:
        """Every id held, sorted."""
        return tuple(sorted(self._keys))

    def key(self, key_id: str) -> bytes:
        """The key-encryption key of ``key_id``, or ``crypto.key_unknown``."""
        if key_id not in self._keys:
            raise KeyUnknown(key_id=key_id)
        return self._keys[key_id]

    def wrap(self, data_key: bytes, *, associated: bytes) -> Sealed:
        """``data_key`` sealed under the current key-encryption key."""
        return self._ciphers[self._current].encrypt(data_key, associated=associated)

    def unwrap(self, wrapped: Sealed, *, associated: bytes) -> bytes:
        """The data key sealed in ``wrapped``, under the key it names."""
        cipher = self._ciphers.get(wrapped.key_id)
        if cipher is None:
            raise KeyUnknown(key_id=wrapped.key_id)
        return cipher.decrypt(wrapped, associated=associated)

    def dumps(self) -> str:
        """The ring as text for ``FileKeyProvider`` / ``EnvKeyProvider`` (the current key last)."""
        order = [k for k in self._keys if k != self._current] + [self._current]
        return "\n".join(f"{k}={_b64(self._keys[k])}" for k in order) + "\n"


def _b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode("ascii")


def _parse_keys(text: str) -> tuple[dict[str, bytes], str]:
    """``id=base64`` entries, one a line or separated by ``;`` or spaces; the last is current."""
    keys: dict[str, bytes] = {}
    last = ""
    for entry in text.replace(";", "\n").split():
        key_id, sep, value = entry.partition("=")
        if not sep or key_id in keys:
            raise CiphertextInvalid("密钥条目须为“密钥编号=base64”且编号不重复", field="keys")
        try:
            keys[key_id] = base64.b64decode(value, validate=True)
        except (binascii.Error, ValueError):
            raise CiphertextInvalid("密钥不是有效的 base64", field="keys", key_id=key_id) from None
        last = key_id
    if not keys:
        raise CiphertextInvalid("没有配置密钥", field="keys")
    return keys, last


class FileKeyProvider(KeyRing):
    """A ``KeyRing`` read from a file of ``id=base64`` lines (the last is current); keep it 0600."""

    def __init__(self, path: str | os.PathLike[str], *, algorithm: str = AES_256_GCM) -> None:
        keys, current = _parse_keys(Path(path).read_text(encoding="ascii"))
        super().__init__(keys, current=current, algorithm=algorithm)


def _ring_algorithm(keys: Mapping[str, bytes], current: str) -> str:
    """SM4-GCM for 16-byte keys, AES-256-GCM otherwise (the current key decides)."""
    return SM4_GCM if len(keys[current]) == 16 else AES_256_GCM


KEYS_VARIABLE = "QIANDAO_KEYS"
KEY_FILE_VARIABLE = "QIANDAO_KEY_FILE"


def configured_provider(environ: Mapping[str, str] | None = None) -> KeyRing | None:
    """The key-encryption keys the host configured: ``QIANDAO_KEYS`` (``id=base64;...``), else
    the file named by ``QIANDAO_KEY_FILE``; ``None`` when neither is set.

    The algorithm follows the current key's length: 16 bytes SM4-GCM, 32 bytes AES-256-GCM.
    """
    env = os.environ if environ is None else environ
    text = env.get(KEYS_VARIABLE, "").strip()
    path = env.get(KEY_FILE_VARIABLE, "").strip()
    if not text and path:
        text = Path(path).read_text(encoding="ascii")
    if not text.strip():
        return None
    keys, current = _parse_keys(text)
    return KeyRing(keys, current=current, algorithm=_ring_algorithm(keys, current))


def local_key_file(path: str | os.PathLike[str]) -> KeyRing:
    """The ring in ``path``, made (one fresh SM4 key, mode 0600) if it is missing: the demo's
    generated local key, reused on the next start."""
    file = Path(path)
    if not file.exists():
        ring = KeyRing.generate(algorithm=SM4_GCM)
        descriptor = os.open(file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "w", encoding="ascii") as out:
            out.write(ring.dumps())
    keys, current = _parse_keys(file.read_text(encoding="ascii"))
    return KeyRing(keys, current=current, algorithm=_ring_algorithm(keys, current))


class EnvKeyProvider(KeyRing):
    """A ``KeyRing`` from an environment variable (default ``QIANDAO_KEYS``), ``;`` between keys."""

    def __init__(
        self,
        variable: str = "QIANDAO_KEYS",
        *,
        algorithm: str = AES_256_GCM,
        environ: Mapping[str, str] | None = None,
    ) -> None:
        text = (os.environ if environ is None else environ).get(variable, "")
        keys, current = _parse_keys(text)
        super().__init__(keys, current=current, algorithm=algorithm)


class EnvelopeCipher:
    """A ``Cipher`` under a data key of its own for one ``scope``, wrapped by a ``KeyProvider``.

    Without ``wrapped_key`` a fresh data key is made; store ``wrapped_key`` (its ``encode()``)
    beside the scope and pass it back to read. The wrap is bound to the scope, so a wrapped key
    moved to another scope does not open (``crypto.tampered``). Sealed values name the scope as
    their key id, so ``scope`` is a key-id token (letters, digits, ``.``, ``_``, ``-``; at most 64);
    destroying the wrapped key makes them unreadable (crypto-shredding).
    """

    def __init__(
        self,
        provider: KeyProvider,
        scope: str,
        *,
        wrapped_key: Sealed | None = None,
        algorithm: str = SM4_GCM,
    ) -> None:
        associated = f"qiandao.data-key:{algorithm}:{scope}".encode()
        if wrapped_key is None:
            data_key = secrets.token_bytes(_key_bytes(algorithm))
            wrapped_key = provider.wrap(data_key, associated=associated)
        else:
            data_key = provider.unwrap(wrapped_key, associated=associated)
        self._inner: Cipher = cipher_for(algorithm, data_key, key_id=scope)
        self.wrapped_key = wrapped_key
        self.scope = scope

    def __repr__(self) -> str:
        return f"EnvelopeCipher(scope={self.scope!r}, algorithm={self.algorithm!r})"

    @property
    def algorithm(self) -> str:
        """The algorithm of the data key."""
        return self._inner.algorithm

    def encrypt(self, plaintext: bytes, *, associated: bytes) -> Sealed:
        """``plaintext`` sealed under the scope's data key."""
        return self._inner.encrypt(plaintext, associated=associated)

    def decrypt(self, sealed: Sealed, *, associated: bytes) -> bytes:
        """The plaintext of a value sealed under this scope's data key."""
        return self._inner.decrypt(sealed, associated=associated)


def _sm3_available() -> bool:
    try:
        _chmac.HMAC(bytes(32), hashes.SM3()).finalize()
    except (UnsupportedAlgorithm, AttributeError):
        return False
    return True


class BlindIndex:
    """A keyed, stable token of a normalised phone number: look a person up without decrypting.

    HMAC-SM3 where the backend has SM3, else HMAC-SHA-256 (``algorithm`` says which; tokens of
    the two differ, so a host records it beside the index). Use a key of its own, not a
    data or key-encryption key.
    """

    def __init__(self, key: bytes, *, prefer_sm3: bool = True) -> None:
        if not isinstance(key, bytes) or len(key) < 16:
            raise CiphertextInvalid("盲索引密钥至少 16 字节", field="key")
        self._key = key
        use_sm3 = prefer_sm3 and _sm3_available()
        self.algorithm = "HMAC-SM3" if use_sm3 else "HMAC-SHA-256"
        self._hash: Callable[[], hashes.HashAlgorithm] = hashes.SM3 if use_sm3 else hashes.SHA256

    def __repr__(self) -> str:
        return f"BlindIndex(algorithm={self.algorithm!r})"

    def token(self, phone: str) -> str:
        """The hex token of ``phone`` once normalised (``input.invalid`` if it is not a phone)."""
        return self.exact(normalise_phone(phone))

    def exact(self, value: str) -> str:
        """The hex token of ``value`` as it is (a store keeps numbers already normalised)."""
        mac = _chmac.HMAC(self._key, self._hash())
        mac.update(value.encode("utf-8"))
        return mac.finalize().hex()

    def matches(self, phone: str, token: str) -> bool:
        """Whether ``token`` is the token of ``phone`` (compared in constant time)."""
        return _hmac.compare_digest(self.token(phone), token)
