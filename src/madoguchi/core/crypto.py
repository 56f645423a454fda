"""Field encryption (AES-256-GCM) with key ids, and HMAC blind indexes.

A ciphertext is stored as ``enc1$<key id>$<base64url(nonce || ciphertext || tag)>``. The key
id travels with the value, so rotating keys is: add a new key at the end of
``MADOGUCHI_FIELD_KEYS`` (it becomes the one that writes), keep the old ones for reading, run
``madoguchi reencrypt``, then drop the old keys.

The associated data binds a ciphertext to its column, so a value copied into another
encrypted column does not decrypt there.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import os
from dataclasses import dataclass
from functools import lru_cache

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from django.conf import settings
from django.core.signals import setting_changed
from django.dispatch import receiver

from madoguchi.core.keys import FieldKey

PREFIX = "enc1"
_NONCE_BYTES = 12
_TAG_BYTES = 16


class DecryptionError(Exception):
    """A stored value could not be decrypted: unknown key id, tampering or wrong column."""


@dataclass(frozen=True, slots=True)
class KeyRing:
    keys: dict[str, AESGCM]
    current_id: str

    @classmethod
    def from_keys(cls, keys: tuple[FieldKey, ...]) -> KeyRing:
        return cls({k.key_id: AESGCM(k.secret) for k in keys}, keys[-1].key_id)

    def encrypt(self, plaintext: str, *, associated_data: bytes) -> str:
        nonce = os.urandom(_NONCE_BYTES)
        sealed = self.keys[self.current_id].encrypt(
            nonce, plaintext.encode("utf-8"), associated_data
        )
        body = base64.urlsafe_b64encode(nonce + sealed).decode("ascii").rstrip("=")
        return f"{PREFIX}${self.current_id}${body}"

    def decrypt(self, token: str, *, associated_data: bytes) -> str:
        prefix, key_id, body = split_token(token)
        if prefix != PREFIX:
            raise DecryptionError("not an encrypted value")
        aead = self.keys.get(key_id)
        if aead is None:
            raise DecryptionError(f"key id {key_id!r} is not in MADOGUCHI_FIELD_KEYS")
        try:
            raw = base64.urlsafe_b64decode((body + "=" * (-len(body) % 4)).encode("ascii"))
        except (binascii.Error, ValueError, UnicodeEncodeError):
            raise DecryptionError("ciphertext is not valid base64") from None
        if len(raw) < _NONCE_BYTES + _TAG_BYTES:
            raise DecryptionError("ciphertext is too short")
        try:
            plain = aead.decrypt(raw[:_NONCE_BYTES], raw[_NONCE_BYTES:], associated_data)
        except InvalidTag:
            raise DecryptionError("ciphertext failed authentication") from None
        return plain.decode("utf-8")


def split_token(token: str) -> tuple[str, str, str]:
    parts = token.split("$", 2)
    if len(parts) != 3:
        raise DecryptionError("not an encrypted value")
    return parts[0], parts[1], parts[2]


def token_key_id(token: str) -> str:
    """The key id a stored ciphertext was written with."""
    return split_token(token)[1]


@lru_cache(maxsize=1)
def keyring() -> KeyRing:
    """The key ring built from settings (cached; reset when tests override the setting)."""
    return KeyRing.from_keys(settings.FIELD_ENCRYPTION_KEYS)


def blind_index(value: str, *, purpose: str) -> str:
    """A keyed hash for exact-match lookups of an encrypted value.

    ``purpose`` separates columns so equal values in different columns do not match.
    """
    mac = hmac.new(settings.BLIND_INDEX_KEY, digestmod=hashlib.sha256)
    mac.update(purpose.encode("utf-8") + b"\x00" + value.encode("utf-8"))
    return mac.hexdigest()


@receiver(setting_changed)
def _reset_keyring(*, setting: str, **kwargs: object) -> None:
    if setting == "FIELD_ENCRYPTION_KEYS":
        keyring.cache_clear()
