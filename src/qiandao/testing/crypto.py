"""The cipher contract: every ``Cipher``, ours or a host's (a KMS, an HSM), proves itself here.

Subclass it in a test module whose class name starts with ``Test``::

    from qiandao.testing import CipherContract


    class TestMyCipher(CipherContract):
        def make_cipher(self) -> MyCipher:
            return MyCipher(fresh_key(), key_id="k1")

``make_cipher()`` must return a cipher under a fresh random key on every call (the suite checks
that one key cannot open what another sealed). ``hypothesis_max_examples`` sets the examples per
property; ``nonce_draws`` the encryptions of the nonce-reuse check. This module imports pytest
and Hypothesis; import it from tests only.
"""

from __future__ import annotations

import abc
from collections.abc import Callable
from typing import Any, ClassVar

import attrs
import pytest
from hypothesis import strategies as st

from qiandao.errors import CiphertextInvalid, CiphertextTampered, KeyUnknown, QiandaoError
from qiandao.ports.crypto import Cipher, Sealed
from qiandao.testing._support import property_of

__all__ = ["CipherContract"]

_ASSOCIATED = b"items/body/7f3c"


def _flip(data: bytes, index: int, bit: int) -> bytes:
    changed = bytearray(data)
    changed[index % len(changed)] ^= 1 << bit
    return bytes(changed)


class CipherContract(abc.ABC):
    """The behaviour every ``Cipher`` must have (the port's docs, docs/security.md)."""

    hypothesis_max_examples: ClassVar[int | None] = None
    nonce_draws: ClassVar[int] = 2000

    @abc.abstractmethod
    def make_cipher(self) -> Cipher:
        """A cipher under a fresh random key."""

    def _property(self, *strategies: st.SearchStrategy[Any]) -> Callable[..., Any]:
        """``given(*strategies)`` under this contract's settings."""
        return property_of(self.hypothesis_max_examples, *strategies)

    def test_any_bytes_round_trip_through_the_text_form(self) -> None:
        cipher = self.make_cipher()

        @self._property(st.binary(max_size=4096), st.binary(max_size=256))
        def check(plaintext: bytes, associated: bytes) -> None:
            sealed = cipher.encrypt(plaintext, associated=associated)
            assert sealed.algorithm == cipher.algorithm
            assert Sealed.parse(sealed.encode()) == sealed
            assert Sealed.parse(sealed.to_bytes()) == sealed
            assert cipher.decrypt(Sealed.parse(sealed.encode()), associated=associated) == plaintext
            if len(plaintext) >= 16:
                assert plaintext not in sealed.ciphertext

        check()

    def test_flipping_any_bit_of_nonce_or_ciphertext_or_tag_is_tampering(self) -> None:
        cipher = self.make_cipher()

        @self._property(
            st.binary(max_size=256),
            st.sampled_from(["nonce", "ciphertext"]),
            st.integers(min_value=0),
            st.integers(0, 7),
        )
        def check(plaintext: bytes, field: str, index: int, bit: int) -> None:
            sealed = cipher.encrypt(plaintext, associated=_ASSOCIATED)
            if field == "nonce":
                changed = attrs.evolve(sealed, nonce=_flip(sealed.nonce, index, bit))
            else:
                changed = attrs.evolve(sealed, ciphertext=_flip(sealed.ciphertext, index, bit))
            with pytest.raises(CiphertextTampered):
                cipher.decrypt(changed, associated=_ASSOCIATED)

        check()

    def test_the_last_byte_of_the_tag_is_checked(self) -> None:
        cipher = self.make_cipher()
        sealed = cipher.encrypt(b"13800138000", associated=_ASSOCIATED)
        changed = attrs.evolve(sealed, ciphertext=_flip(sealed.ciphertext, -1, 0))
        with pytest.raises(CiphertextTampered):
            cipher.decrypt(changed, associated=_ASSOCIATED)

    def test_other_associated_data_is_tampering(self) -> None:
        cipher = self.make_cipher()

        @self._property(st.binary(max_size=256), st.binary(max_size=64), st.binary(max_size=64))
        def check(plaintext: bytes, associated: bytes, other: bytes) -> None:
            sealed = cipher.encrypt(plaintext, associated=associated)
            if other != associated:
                with pytest.raises(CiphertextTampered):
                    cipher.decrypt(sealed, associated=other)

        check()

    def test_a_value_moved_to_another_row_does_not_open(self) -> None:
        cipher = self.make_cipher()
        sealed = cipher.encrypt(b"secret body", associated=b"items/body/1")
        with pytest.raises(CiphertextTampered):
            cipher.decrypt(sealed, associated=b"items/body/2")

    def test_truncating_or_extending_the_ciphertext_is_refused(self) -> None:
        cipher = self.make_cipher()
        sealed = cipher.encrypt(b"secret body", associated=_ASSOCIATED)
        for body in (sealed.ciphertext[:-1], sealed.ciphertext + b"\0", sealed.ciphertext[:4]):
            with pytest.raises((CiphertextTampered, CiphertextInvalid)):
                cipher.decrypt(attrs.evolve(sealed, ciphertext=body), associated=_ASSOCIATED)

    def test_an_unknown_key_id_is_key_unknown(self) -> None:
        cipher = self.make_cipher()
        sealed = cipher.encrypt(b"secret", associated=_ASSOCIATED)
        other = "no-such-key" if sealed.key_id != "no-such-key" else "another-key"
        with pytest.raises(KeyUnknown) as raised:
            cipher.decrypt(attrs.evolve(sealed, key_id=other), associated=_ASSOCIATED)
        assert raised.value.code == "crypto.key_unknown"

    def test_another_algorithm_is_invalid(self) -> None:
        cipher = self.make_cipher()
        sealed = cipher.encrypt(b"secret", associated=_ASSOCIATED)
        other = "AES-256-GCM" if cipher.algorithm != "AES-256-GCM" else "SM4-GCM"
        with pytest.raises(CiphertextInvalid):
            cipher.decrypt(attrs.evolve(sealed, algorithm=other), associated=_ASSOCIATED)

    def test_another_key_does_not_open_a_value(self) -> None:
        one, two = self.make_cipher(), self.make_cipher()
        sealed = one.encrypt(b"secret", associated=_ASSOCIATED)
        with pytest.raises((CiphertextTampered, KeyUnknown)):
            two.decrypt(sealed, associated=_ASSOCIATED)

    def test_nonces_never_repeat(self) -> None:
        cipher = self.make_cipher()
        sealed = [cipher.encrypt(b"same", associated=_ASSOCIATED) for _ in range(self.nonce_draws)]
        nonces = {s.nonce for s in sealed}
        assert len(nonces) == self.nonce_draws
        assert len({s.ciphertext for s in sealed}) == self.nonce_draws
        assert all(len(n) >= 12 for n in nonces)

    def test_refusals_are_coded_errors(self) -> None:
        cipher = self.make_cipher()
        sealed = cipher.encrypt(b"secret", associated=_ASSOCIATED)
        with pytest.raises(QiandaoError) as raised:
            cipher.decrypt(sealed, associated=b"elsewhere")
        assert raised.value.code == "crypto.tampered"
        assert raised.value.article == "第十九条"
