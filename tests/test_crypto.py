"""Encryption at rest: the Sealed encoding, both ciphers, key providers, envelopes, blind index."""

from __future__ import annotations

import base64
import secrets
from pathlib import Path

import attrs
import pytest
from hypothesis import given
from hypothesis import strategies as st

from qiandao import (
    CiphertextInvalid,
    CiphertextTampered,
    CryptoUnavailable,
    InvalidInput,
    KeyUnknown,
    Sealed,
)
from qiandao.ports.crypto import Cipher, KeyProvider
from qiandao.testing import CipherContract
from qiandao_adapters.crypto import (
    AesGcmCipher,
    BlindIndex,
    EnvelopeCipher,
    EnvKeyProvider,
    FileKeyProvider,
    KeyRing,
    Sm4GcmCipher,
    cipher_for,
)

AD = b"accounts/phone/42"


class TestAesGcm(CipherContract):
    def make_cipher(self) -> Cipher:
        return AesGcmCipher(secrets.token_bytes(32), key_id="aes-1")


class TestSm4Gcm(CipherContract):
    def make_cipher(self) -> Cipher:
        return Sm4GcmCipher(secrets.token_bytes(16), key_id="sm4-1")


class TestEnvelopeSm4(CipherContract):
    def make_cipher(self) -> Cipher:
        return EnvelopeCipher(KeyRing.generate(), "person-7")


class TestEnvelopeAes(CipherContract):
    def make_cipher(self) -> Cipher:
        ring = KeyRing.generate(algorithm="SM4-GCM")
        return EnvelopeCipher(ring, "person-8", algorithm="AES-256-GCM")


# --- the Sealed value and its encoding (domain, no cryptography) ----------------------------


@given(
    st.sampled_from(["AES-256-GCM", "SM4-GCM"]),
    st.from_regex(r"[A-Za-z0-9._-]{1,64}", fullmatch=True),
    st.binary(min_size=1, max_size=32),
    st.binary(max_size=256),
)
def test_the_encoding_round_trips(alg: str, key_id: str, nonce: bytes, body: bytes) -> None:
    sealed = Sealed(alg, key_id, nonce, body)
    text = sealed.encode()
    assert text.startswith(f"v1:{alg}:{key_id}:")
    assert Sealed.parse(text) == sealed
    assert Sealed.parse(sealed.to_bytes()) == sealed


def test_the_encoding_is_stable() -> None:
    sealed = Sealed("SM4-GCM", "k1", b"\x00" * 12, b"\xff\xfe")
    assert sealed.encode() == "v1:SM4-GCM:k1:AAAAAAAAAAAAAAAA://4="


GOOD = Sealed("SM4-GCM", "k1", b"\x01" * 12, b"\x02" * 20).encode()


@pytest.mark.parametrize(
    "text",
    [
        "",
        "v1",
        GOOD.replace("v1:", "v2:", 1),
        GOOD.replace("v1:", "V1:", 1),
        GOOD + ":extra",
        GOOD.rsplit(":", 1)[0],
        "v1::k1:AQEBAQEBAQEBAQEB:AgI=",  # no algorithm
        "v1:SM4-GCM::AQEBAQEBAQEBAQEB:AgI=",  # no key id
        "v1:SM4 GCM:k1:AQEBAQEBAQEBAQEB:AgI=",
        "v1:SM4-GCM:k/1:AQEBAQEBAQEBAQEB:AgI=",
        "v1:SM4-GCM:密钥:AQEBAQEBAQEBAQEB:AgI=",
        "v1:SM4-GCM:" + "k" * 65 + ":AQEBAQEBAQEBAQEB:AgI=",
        "v1:SM4-GCM:k1::AgI=",  # empty nonce
        "v1:SM4-GCM:k1:AQEBAQEBAQEBAQEB:AgI",  # missing padding
        "v1:SM4-GCM:k1:AQEBAQEBAQEBAQEB:AgJ=",  # non-canonical trailing bits
        "v1:SM4-GCM:k1:AQEBAQEBAQEBAQEB:Ag I=",
        "v1:SM4-GCM:k1:AQEBAQEBAQEBAQEB:Ag-_",  # url-safe alphabet
        "v1:SM4-GCM:k1:AQEBAQEBAQEBAQEB:AgI=\n",
    ],
)
def test_malformed_text_is_invalid(text: str) -> None:
    with pytest.raises(CiphertextInvalid) as raised:
        Sealed.parse(text)
    assert raised.value.code == "crypto.invalid"


@pytest.mark.parametrize("value", [None, 42, b"v1:\xff", ["v1"], GOOD.encode("utf-16")])
def test_text_that_is_not_text_is_invalid(value: object) -> None:
    with pytest.raises(CiphertextInvalid):
        Sealed.parse(value)


@given(st.text(max_size=80))
def test_any_text_parses_or_is_invalid(text: str) -> None:
    try:
        sealed = Sealed.parse(text)
    except CiphertextInvalid:
        return
    assert sealed.encode() == text  # what parses is canonical


def test_a_sealed_value_refuses_bad_fields() -> None:
    with pytest.raises(CiphertextInvalid):
        Sealed("SM4-GCM", "k1", b"", b"x")
    with pytest.raises(CiphertextInvalid):
        Sealed("SM4-GCM", "k:1", b"n", b"x")
    with pytest.raises(CiphertextInvalid):
        Sealed("SM4-GCM", "k1", b"n", "x")  # type: ignore[arg-type]


# --- the ciphers --------------------------------------------------------------------------


# Published known-answer vectors: (cipher, key, nonce, associated data, plaintext, ciphertext+tag).
VECTORS = {
    # RFC 8998 (ShangMi cipher suites for TLS 1.3), Appendix A.1, SM4-GCM:
    # https://www.rfc-editor.org/rfc/rfc8998#appendix-A.1
    "rfc8998-a1-sm4-gcm": (
        Sm4GcmCipher,
        "0123456789ABCDEFFEDCBA9876543210",
        "00001234567800000000ABCD",
        "FEEDFACEDEADBEEFFEEDFACEDEADBEEFABADDAD2",
        "AAAAAAAAAAAAAAAABBBBBBBBBBBBBBBBCCCCCCCCCCCCCCCCDDDDDDDDDDDDDDDD"
        "EEEEEEEEEEEEEEEEFFFFFFFFFFFFFFFFEEEEEEEEEEEEEEEEAAAAAAAAAAAAAAAA",
        "17F399F08C67D5EE19D0DC9969C4BB7D5FD46FD3756489069157B282BB200735"
        "D82710CA5C22F0CCFA7CBF93D496AC15A56834CBCF98C397B4024A2691233B8D"
        "83DE3541E4C2B58177E065A9BF7B62EC",
    ),
    # McGrew and Viega, "The Galois/Counter Mode of Operation (GCM)", test case 16 (AES-256):
    # https://csrc.nist.gov/csrc/media/projects/block-cipher-techniques/documents/bcm/proposed-modes/gcm/gcm-spec.pdf
    "gcm-spec-tc16-aes-256-gcm": (
        AesGcmCipher,
        "feffe9928665731c6d6a8f9467308308feffe9928665731c6d6a8f9467308308",
        "cafebabefacedbaddecaf888",
        "feedfacedeadbeeffeedfacedeadbeefabaddad2",
        "d9313225f88406e5a55909c5aff5269a86a7a9531534f7da2e4c303d8a318a72"
        "1c3c0c95956809532fcf0e2449a6b525b16aedf5aa0de657ba637b39",
        "522dc1f099567d07f47f37a32a84427d643a8cdcbfe5c0c97598a2bd2555d1aa"
        "8cb08e48590dbb3da7b08b1056828838c5f61e6393ba7a0abcc9f662"
        "76fc6ece0f4e1768cddf8853bb2d551b",
    ),
}


@pytest.mark.parametrize("name", sorted(VECTORS))
def test_the_ciphers_match_published_vectors(name: str) -> None:
    kind, *fields = VECTORS[name]
    key, nonce, associated, plaintext, expected = (bytes.fromhex(f) for f in fields)
    cipher = kind(key, key_id="kat")
    sealed = Sealed(cipher.algorithm, "kat", nonce, expected)
    assert cipher.decrypt(sealed, associated=associated) == plaintext
    assert cipher._seal(nonce, plaintext, associated) == expected


@pytest.mark.parametrize(
    ("kind", "size"), [(AesGcmCipher, 16), (AesGcmCipher, 31), (Sm4GcmCipher, 32)]
)
def test_a_key_of_the_wrong_size_is_refused(kind: type[AesGcmCipher], size: int) -> None:
    with pytest.raises(CiphertextInvalid):
        kind(bytes(size), key_id="k1")


def test_a_malformed_key_id_is_refused() -> None:
    with pytest.raises(CiphertextInvalid):
        AesGcmCipher(bytes(32), key_id="k 1")


def test_a_wrong_nonce_length_is_invalid_not_a_crash() -> None:
    cipher = Sm4GcmCipher(bytes(16), key_id="k1")
    sealed = cipher.encrypt(b"x", associated=AD)
    with pytest.raises(CiphertextInvalid):
        cipher.decrypt(attrs.evolve(sealed, nonce=sealed.nonce + b"\0"), associated=AD)


def test_an_unknown_algorithm_is_invalid() -> None:
    with pytest.raises(CiphertextInvalid):
        cipher_for("DES-CBC", bytes(8), key_id="k1")


def test_sm4_without_backend_support_is_unavailable(monkeypatch: pytest.MonkeyPatch) -> None:
    class NoSm4:
        def __init__(self, key: bytes) -> None:
            from cryptography.exceptions import UnsupportedAlgorithm

            raise UnsupportedAlgorithm("no SM4 here")

    from cryptography.hazmat.primitives.ciphers import algorithms

    monkeypatch.setattr(algorithms, "SM4", NoSm4)
    with pytest.raises(CryptoUnavailable) as raised:
        Sm4GcmCipher(bytes(16), key_id="k1")
    assert raised.value.code == "crypto.unavailable"


def test_reprs_never_show_keys() -> None:
    key = bytes(range(32))
    shown = repr(AesGcmCipher(key, key_id="k1")) + repr(KeyRing({"k1": key}, current="k1"))
    assert key.hex() not in shown and base64.b64encode(key).decode() not in shown


# --- key providers and envelopes ----------------------------------------------------------


def test_a_ring_wraps_under_its_current_key_and_unwraps_old_ones() -> None:
    old, new = secrets.token_bytes(32), secrets.token_bytes(32)
    before = KeyRing({"k1": old}, current="k1")
    wrapped_old = before.wrap(b"d" * 16, associated=AD)
    after = KeyRing({"k1": old, "k2": new}, current="k2")
    wrapped_new = after.wrap(b"e" * 16, associated=AD)
    assert (wrapped_old.key_id, wrapped_new.key_id) == ("k1", "k2")
    assert after.unwrap(wrapped_old, associated=AD) == b"d" * 16
    assert after.current_key_id == "k2" and after.key("k1") == old
    retired = KeyRing({"k2": new}, current="k2")
    with pytest.raises(KeyUnknown):
        retired.unwrap(wrapped_old, associated=AD)
    with pytest.raises(KeyUnknown):
        retired.key("k1")


def test_a_ring_needs_its_current_key() -> None:
    with pytest.raises(KeyUnknown):
        KeyRing({"k1": bytes(32)}, current="k2")


def test_unwrapping_with_other_associated_data_is_tampering() -> None:
    ring = KeyRing.generate()
    wrapped = ring.wrap(b"d" * 16, associated=b"person-1")
    with pytest.raises(CiphertextTampered):
        ring.unwrap(wrapped, associated=b"person-2")


def test_the_file_provider_reads_what_a_ring_dumps(tmp_path: Path) -> None:
    ring = KeyRing({"k1": bytes(32), "k2": secrets.token_bytes(32)}, current="k1")
    path = tmp_path / "keys"
    path.write_text(ring.dumps(), encoding="ascii")
    loaded = FileKeyProvider(path)
    assert loaded.current_key_id == "k1" and loaded.key_ids == ("k1", "k2")
    assert loaded.unwrap(ring.wrap(b"x" * 16, associated=AD), associated=AD) == b"x" * 16


def test_the_env_provider_reads_semicolon_separated_keys() -> None:
    one, two = secrets.token_bytes(16), secrets.token_bytes(16)
    text = f"a={base64.b64encode(one).decode()};b={base64.b64encode(two).decode()}"
    ring = EnvKeyProvider(environ={"QIANDAO_KEYS": text}, algorithm="SM4-GCM")
    assert ring.current_key_id == "b" and ring.key("a") == one


@pytest.mark.parametrize(
    "text",
    ["", "k1", "k1=not base64!", f"k1={'A' * 44};k1={'A' * 44}", f"k1={'A' * 24}"],
)
def test_bad_key_text_is_refused(text: str) -> None:
    with pytest.raises(CiphertextInvalid):
        EnvKeyProvider(environ={"QIANDAO_KEYS": text})  # AES-256 needs 32 bytes: 'A'*24 is 18


def test_an_envelope_reopens_from_its_wrapped_key() -> None:
    ring = KeyRing.generate()
    first = EnvelopeCipher(ring, "person-1")
    sealed = first.encrypt(b"13800138000", associated=AD)
    stored = Sealed.parse(first.wrapped_key.encode())
    again = EnvelopeCipher(ring, "person-1", wrapped_key=stored)
    assert again.decrypt(sealed, associated=AD) == b"13800138000"
    assert sealed.key_id == "person-1"


def test_each_scope_gets_a_fresh_data_key() -> None:
    ring: KeyProvider = KeyRing.generate()
    one, two = EnvelopeCipher(ring, "person-1"), EnvelopeCipher(ring, "person-1")
    assert one.wrapped_key != two.wrapped_key
    sealed = one.encrypt(b"x", associated=AD)
    with pytest.raises(CiphertextTampered):
        two.decrypt(sealed, associated=AD)


def test_a_wrapped_key_moved_to_another_scope_does_not_open() -> None:
    ring = KeyRing.generate()
    first = EnvelopeCipher(ring, "person-1")
    with pytest.raises(CiphertextTampered):
        EnvelopeCipher(ring, "person-2", wrapped_key=first.wrapped_key)


def test_another_scopes_values_are_key_unknown() -> None:
    ring = KeyRing.generate()
    one, two = EnvelopeCipher(ring, "person-1"), EnvelopeCipher(ring, "person-2")
    with pytest.raises(KeyUnknown):
        two.decrypt(one.encrypt(b"x", associated=AD), associated=AD)


def test_without_the_key_encryption_key_an_envelope_is_shredded() -> None:
    ring = KeyRing.generate(key_id="k1")
    first = EnvelopeCipher(ring, "person-1")
    with pytest.raises(KeyUnknown):
        EnvelopeCipher(KeyRing.generate(key_id="k2"), "person-1", wrapped_key=first.wrapped_key)
    with pytest.raises(CiphertextTampered):  # same id, another key: still no way in
        EnvelopeCipher(KeyRing.generate(key_id="k1"), "person-1", wrapped_key=first.wrapped_key)


# --- the blind index ----------------------------------------------------------------------


def test_the_blind_index_uses_sm3_when_the_backend_has_it() -> None:
    index = BlindIndex(bytes(32))
    assert index.algorithm == "HMAC-SM3"
    assert BlindIndex(bytes(32), prefer_sm3=False).algorithm == "HMAC-SHA-256"
    assert index.token("13800138000") != BlindIndex(bytes(32), prefer_sm3=False).token(
        "13800138000"
    )


def test_the_blind_index_matches_hmac_sm3() -> None:
    from cryptography.hazmat.primitives import hashes, hmac

    mac = hmac.HMAC(b"k" * 32, hashes.SM3())
    mac.update(b"13800138000")
    assert BlindIndex(b"k" * 32).token("+86 138-0013-8000") == mac.finalize().hex()


@given(st.sampled_from(["13800138000", "138 0013 8000", "+86-13800138000", "008613800138000"]))
def test_equal_phones_give_equal_tokens(phone: str) -> None:
    index = BlindIndex(b"i" * 32)
    assert index.token(phone) == index.token("13800138000")
    assert index.matches(phone, index.token("13800138000"))


@given(st.integers(13_000_000_000, 19_999_999_999), st.integers(13_000_000_000, 19_999_999_999))
def test_tokens_are_keyed_and_tell_phones_apart(a: int, b: int) -> None:
    one, two = BlindIndex(b"1" * 32), BlindIndex(b"2" * 32)
    token = one.token(str(a))
    assert len(token) == 64 and int(token, 16) >= 0
    assert token == BlindIndex(b"1" * 32).token(str(a))  # stable across instances
    assert token != two.token(str(a))
    assert (token == one.token(str(b))) == (a == b)


def test_the_blind_index_refuses_a_short_key_and_a_non_phone() -> None:
    with pytest.raises(CiphertextInvalid):
        BlindIndex(b"short")
    with pytest.raises(InvalidInput):
        BlindIndex(bytes(32)).token("not a phone")


def test_a_scope_that_is_not_a_key_id_is_refused() -> None:
    with pytest.raises(CiphertextInvalid):
        EnvelopeCipher(KeyRing.generate(), "person:1")
