"""Tests for madoguchi.core.keys (key parsing) and madoguchi.core.crypto (KeyRing, blind_index)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import re

import pytest
from hypothesis import given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from pytest_django import Settings

from madoguchi.core.crypto import (
    DecryptionError,
    KeyRing,
    blind_index,
    keyring,
    split_token,
    token_key_id,
)
from madoguchi.core.keys import FieldKey, KeyConfigError, decode_secret, parse_field_keys

SECRET_1 = bytes(range(32))
SECRET_2 = bytes(range(32, 64))
# Chosen so that its base64 uses "+" and "/" (standard) or "-" and "_" (URL-safe).
SECRET_SIGNS = bytes([0xFB, 0xEF, 0xFF] * 10 + [0xFB, 0xEF])

STD_1 = base64.b64encode(SECRET_1).decode()  # "AAECAwQF...Hh8=" (44 characters)
STD_2 = base64.b64encode(SECRET_2).decode()
AD = b"fieldcrypto.person.note"
TOKEN_RE = re.compile(r"^enc1\$(?P<key_id>[A-Za-z0-9_-]+)\$(?P<body>[A-Za-z0-9_-]+)$")

FAST = hypothesis_settings(max_examples=60, deadline=None)


def ring(*entries: str) -> KeyRing:
    return KeyRing.from_keys(parse_field_keys(list(entries)))


def body_bytes(token: str) -> bytes:
    body = split_token(token)[2]
    return base64.urlsafe_b64decode(body + "=" * (-len(body) % 4))


def with_body(token: str, raw: bytes) -> str:
    prefix, key_id, _ = split_token(token)
    return f"{prefix}${key_id}${base64.urlsafe_b64encode(raw).decode().rstrip('=')}"


# --- keys.decode_secret ------------------------------------------------------------------------


def test_sample_secrets_use_both_alphabets() -> None:
    """The fixture secret really exercises the characters that differ between the alphabets."""
    assert base64.b64encode(SECRET_SIGNS).decode() == "++//" * 10 + "++8="
    assert base64.urlsafe_b64encode(SECRET_SIGNS).decode() == "--__" * 10 + "--8="


@pytest.mark.parametrize(
    "text",
    [
        "++//" * 10 + "++8=",  # standard, padded
        "++//" * 10 + "++8",  # standard, unpadded
        "--__" * 10 + "--8=",  # URL-safe, padded
        "--__" * 10 + "--8",  # URL-safe, unpadded
        "  " + "--__" * 10 + "--8=\n",  # surrounding whitespace from a copied line
    ],
)
def test_decode_secret_accepts_both_alphabets_with_or_without_padding(text: str) -> None:
    """Standard and URL-safe base64 decode to the same 32 bytes, padded or not."""
    assert decode_secret(text, what="key 'k1'") == SECRET_SIGNS


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("not base64!", "blind index key: not valid base64"),
        ("a", "blind index key: not valid base64"),
        ("é" * 44, "blind index key: not valid base64"),
        (STD_1[:40], "blind index key: must decode to 32 bytes (AES-256), got 30"),
        (
            base64.b64encode(bytes(16)).decode(),
            "blind index key: must decode to 32 bytes (AES-256), got 16",
        ),
        (
            base64.b64encode(bytes(33)).decode(),
            "blind index key: must decode to 32 bytes (AES-256), got 33",
        ),
        ("", "blind index key: must decode to 32 bytes (AES-256), got 0"),
    ],
)
def test_decode_secret_refuses_bad_input_naming_it(text: str, message: str) -> None:
    """Non-base64 text and secrets of the wrong length are refused with a message naming them."""
    with pytest.raises(KeyConfigError) as excinfo:
        decode_secret(text, what="blind index key")
    assert str(excinfo.value) == message


@pytest.mark.parametrize(
    "text",
    [
        STD_1[:20] + "." + STD_1[20:],  # a stray character inside a valid key
        STD_1[:20] + "!!" + STD_1[20:],
        "@@@@",  # no base64 at all: currently reported as "got 0"
        "AAECAwQF$",  # currently reported as "got 6"
    ],
)
def test_decode_secret_refuses_characters_outside_the_alphabet(text: str) -> None:
    """A secret with any character outside both base64 alphabets is refused as not base64."""
    with pytest.raises(KeyConfigError) as excinfo:
        decode_secret(text, what="key 'k1'")
    assert str(excinfo.value) == "key 'k1': not valid base64"


# --- keys.parse_field_keys ---------------------------------------------------------------------


def test_parse_field_keys_keeps_order_oldest_first() -> None:
    """Entries become FieldKeys in the given order; ids may use letters, digits, '-' and '_'."""
    keys = parse_field_keys(
        [f"k1:{STD_1}", f"2026-b_X:{STD_2.rstrip('=')}", "k3:" + "--__" * 10 + "--8"]
    )
    assert keys == (
        FieldKey("k1", SECRET_1),
        FieldKey("2026-b_X", SECRET_2),
        FieldKey("k3", SECRET_SIGNS),
    )


def test_parse_field_keys_accepts_a_sixteen_character_id() -> None:
    """The longest allowed key id is 16 characters."""
    assert parse_field_keys([f"{'a' * 16}:{STD_1}"]) == (FieldKey("a" * 16, SECRET_1),)


@pytest.mark.parametrize(
    ("entries", "message"),
    [
        ([STD_1], "entry 1 must look like ID:BASE64KEY"),
        ([f"k1:{STD_1}", "k2"], "entry 2 must look like ID:BASE64KEY"),
        (
            [f":{STD_1}"],
            "entry 1: key id '' must be 1-16 letters, digits, '-' or '_'",
        ),
        (
            [f"{'a' * 17}:{STD_1}"],
            f"entry 1: key id {'a' * 17!r} must be 1-16 letters, digits, '-' or '_'",
        ),
        (
            [f"k1:{STD_1}", f"k.2:{STD_2}"],
            "entry 2: key id 'k.2' must be 1-16 letters, digits, '-' or '_'",
        ),
        (
            [f"鍵:{STD_1}"],
            "entry 1: key id '鍵' must be 1-16 letters, digits, '-' or '_'",
        ),
        (
            [f"k1:{STD_1}", f"k2:{STD_2}", f"k1:{STD_2}"],
            "entry 3: key id 'k1' is listed twice",
        ),
        ([f"k1:{STD_1}", "k2:not base64!"], "key 'k2': not valid base64"),
        (
            [f"k1:{STD_1[:40]}"],
            "key 'k1': must decode to 32 bytes (AES-256), got 30",
        ),
        ([], "at least one key is required"),
    ],
)
def test_parse_field_keys_refuses_malformed_entries(entries: list[str], message: str) -> None:
    """Each malformed entry is refused with a message saying which entry and why."""
    with pytest.raises(KeyConfigError) as excinfo:
        parse_field_keys(entries)
    assert str(excinfo.value) == message


def test_key_config_error_is_a_value_error() -> None:
    """Callers that only know ValueError still catch a malformed key variable."""
    assert issubclass(KeyConfigError, ValueError)


# --- crypto.KeyRing ----------------------------------------------------------------------------


def test_from_keys_writes_with_the_last_key() -> None:
    """The last key of the list is the one that encrypts; all of them are available to read."""
    two = ring(f"k1:{STD_1}", f"k2:{STD_2}")
    assert two.current_id == "k2"
    assert sorted(two.keys) == ["k1", "k2"]


@FAST
@given(plaintext=st.text())
def test_decrypt_inverts_encrypt(plaintext: str) -> None:
    """Any text survives a round trip through encrypt and decrypt."""
    one = ring(f"k1:{STD_1}")
    token = one.encrypt(plaintext, associated_data=AD)
    assert one.decrypt(token, associated_data=AD) == plaintext


@FAST
@given(plaintext=st.text())
def test_ciphertext_format(plaintext: str) -> None:
    """A token is enc1$<key id>$<unpadded base64url of 12-byte nonce, ciphertext, 16-byte tag>."""
    token = ring(f"k1:{STD_1}", f"k2:{STD_2}").encrypt(plaintext, associated_data=AD)
    match = TOKEN_RE.match(token)
    assert match is not None
    assert match["key_id"] == "k2"
    assert not match["body"].endswith("=")
    assert len(body_bytes(token)) == 12 + len(plaintext.encode("utf-8")) + 16
    assert token_key_id(token) == "k2"


@pytest.mark.parametrize("plaintext", ["", "123456789018", "山田 太郎", "🎌" * 3])
def test_ciphertext_does_not_contain_the_plaintext(plaintext: str) -> None:
    """The stored text reveals nothing of the value, not even in its base64 form."""
    token = ring(f"k1:{STD_1}").encrypt(plaintext, associated_data=AD)
    if plaintext:
        assert plaintext not in token
        assert base64.urlsafe_b64encode(plaintext.encode()).decode().rstrip("=") not in token


def test_encrypting_twice_gives_different_ciphertexts() -> None:
    """Each encryption draws a fresh nonce, so equal values are not recognisable as equal."""
    one = ring(f"k1:{STD_1}")
    tokens = {one.encrypt("123456789018", associated_data=AD) for _ in range(20)}
    assert len(tokens) == 20
    nonces = {body_bytes(token)[:12] for token in tokens}
    assert len(nonces) == 20
    assert {one.decrypt(token, associated_data=AD) for token in tokens} == {"123456789018"}


def test_wrong_associated_data_fails() -> None:
    """A value encrypted for one column does not decrypt for another."""
    one = ring(f"k1:{STD_1}")
    token = one.encrypt("123456789018", associated_data=b"fieldcrypto.person.note")
    with pytest.raises(DecryptionError) as excinfo:
        one.decrypt(token, associated_data=b"fieldcrypto.person.mynumber")
    assert str(excinfo.value) == "ciphertext failed authentication"


@pytest.mark.parametrize("position", [0, 11, 12, 20, -16, -1])
def test_flipped_byte_fails(position: int) -> None:
    """Changing any byte of nonce, ciphertext or tag makes the value fail authentication."""
    one = ring(f"k1:{STD_1}")
    token = one.encrypt("マイナンバー 123456789018", associated_data=AD)
    raw = bytearray(body_bytes(token))
    raw[position] ^= 0x01
    with pytest.raises(DecryptionError) as excinfo:
        one.decrypt(with_body(token, bytes(raw)), associated_data=AD)
    assert str(excinfo.value) == "ciphertext failed authentication"


def test_truncated_tag_fails() -> None:
    """A ciphertext cut short fails authentication."""
    one = ring(f"k1:{STD_1}")
    token = one.encrypt("abc", associated_data=AD)
    with pytest.raises(DecryptionError) as excinfo:
        one.decrypt(with_body(token, body_bytes(token)[:-1]), associated_data=AD)
    assert str(excinfo.value) == "ciphertext failed authentication"


def test_same_key_id_with_other_secret_fails() -> None:
    """A key id reused for a different secret does not decrypt the old values."""
    token = ring(f"k1:{STD_1}").encrypt("abc", associated_data=AD)
    with pytest.raises(DecryptionError) as excinfo:
        ring(f"k1:{STD_2}").decrypt(token, associated_data=AD)
    assert str(excinfo.value) == "ciphertext failed authentication"


def test_unknown_key_id_fails_naming_it() -> None:
    """A value written under a key that is no longer configured names that key."""
    token = ring(f"k1:{STD_1}", f"k9:{STD_2}").encrypt("abc", associated_data=AD)
    with pytest.raises(DecryptionError) as excinfo:
        ring(f"k1:{STD_1}").decrypt(token, associated_data=AD)
    assert str(excinfo.value) == "key id 'k9' is not in MADOGUCHI_FIELD_KEYS"


@pytest.mark.parametrize("token", ["123456789018", "enc1$k1", "", "enc2$k1$AAAA", "plain$k1$x"])
def test_plaintext_is_not_an_encrypted_value(token: str) -> None:
    """Text that is not an enc1 token is refused, not returned as it is."""
    with pytest.raises(DecryptionError) as excinfo:
        ring(f"k1:{STD_1}").decrypt(token, associated_data=AD)
    assert str(excinfo.value) == "not an encrypted value"


@pytest.mark.parametrize(
    "token",
    [
        "enc1$k1$a",  # impossible base64 length -> binascii.Error
        "enc1$k1$",  # empty body -> ValueError: nonce too short
        "enc1$k1$AAAA",  # 3 bytes -> ValueError: nonce too short
        "enc1$k1$é",  # non-ASCII -> ValueError
    ],
)
def test_malformed_body_fails_as_decryption_error(token: str) -> None:
    """A damaged token raises DecryptionError like every other unreadable value."""
    with pytest.raises(DecryptionError):
        ring(f"k1:{STD_1}").decrypt(token, associated_data=AD)


def test_old_key_still_decrypts_after_a_new_key_is_appended() -> None:
    """Rotation: values under k1 stay readable once k2 is appended, and new writes use k2."""
    old_ring = ring(f"k1:{STD_1}")
    old_token = old_ring.encrypt("山田 太郎", associated_data=AD)
    assert token_key_id(old_token) == "k1"

    rotated = ring(f"k1:{STD_1}", f"k2:{STD_2}")
    assert rotated.decrypt(old_token, associated_data=AD) == "山田 太郎"
    new_token = rotated.encrypt("山田 太郎", associated_data=AD)
    assert new_token.startswith("enc1$k2$")
    assert rotated.decrypt(new_token, associated_data=AD) == "山田 太郎"
    with pytest.raises(DecryptionError) as excinfo:
        old_ring.decrypt(new_token, associated_data=AD)
    assert str(excinfo.value) == "key id 'k2' is not in MADOGUCHI_FIELD_KEYS"


def test_keyring_follows_the_setting(settings: Settings) -> None:
    """The cached key ring is rebuilt when FIELD_ENCRYPTION_KEYS changes."""
    settings.FIELD_ENCRYPTION_KEYS = parse_field_keys([f"k1:{STD_1}"])
    assert keyring().current_id == "k1"
    settings.FIELD_ENCRYPTION_KEYS = parse_field_keys([f"k1:{STD_1}", f"k2:{STD_2}"])
    assert keyring().current_id == "k2"
    assert sorted(keyring().keys) == ["k1", "k2"]


@pytest.mark.parametrize(
    ("token", "parts"),
    [
        ("enc1$k1$abc", ("enc1", "k1", "abc")),
        ("enc1$k1$a$b", ("enc1", "k1", "a$b")),
    ],
)
def test_split_token(token: str, parts: tuple[str, str, str]) -> None:
    """A token splits into prefix, key id and body at the first two '$'."""
    assert split_token(token) == parts


# --- crypto.blind_index ------------------------------------------------------------------------

hex_digest = re.compile(r"^[0-9a-f]{64}$")


@FAST
@given(value=st.text(), purpose=st.text(min_size=1))
def test_blind_index_is_deterministic(value: str, purpose: str) -> None:
    """The same value and purpose always give the same 64-hex-digit index."""
    first = blind_index(value, purpose=purpose)
    assert hex_digest.match(first)
    assert blind_index(value, purpose=purpose) == first


@FAST
@given(value=st.text(), purposes=st.lists(st.text(), min_size=2, max_size=2, unique=True))
def test_blind_index_differs_by_purpose(value: str, purposes: list[str]) -> None:
    """Equal values in different columns do not get equal indexes."""
    first, second = purposes
    assert blind_index(value, purpose=first) != blind_index(value, purpose=second)


@FAST
@given(values=st.lists(st.text(), min_size=2, max_size=2, unique=True))
def test_blind_index_differs_by_value(values: list[str]) -> None:
    """Different values get different indexes for the same purpose."""
    first, second = values
    purpose = "fieldcrypto.person.mynumber"
    assert blind_index(first, purpose=purpose) != blind_index(second, purpose=purpose)


def test_blind_index_differs_by_key(settings: Settings) -> None:
    """Another BLIND_INDEX_KEY gives another index for the same value and purpose."""
    purpose = "fieldcrypto.person.mynumber"
    settings.BLIND_INDEX_KEY = SECRET_1
    with_key_1 = blind_index("123456789018", purpose=purpose)
    settings.BLIND_INDEX_KEY = SECRET_2
    with_key_2 = blind_index("123456789018", purpose=purpose)
    assert with_key_1 != with_key_2
    settings.BLIND_INDEX_KEY = SECRET_1
    assert blind_index("123456789018", purpose=purpose) == with_key_1


def test_blind_index_is_hmac_sha256_of_purpose_and_value(settings: Settings) -> None:
    """The index is HMAC-SHA256 over purpose, NUL, value (pinned so stored indexes stay valid)."""
    settings.BLIND_INDEX_KEY = SECRET_1
    expected = hmac.new(SECRET_1, b"p\x00v", hashlib.sha256).hexdigest()
    assert blind_index("v", purpose="p") == expected
