"""Parsing of the key material given in the environment.

Kept free of Django settings so that the settings module can validate keys at start-up and
fail with a message naming the variable, instead of failing at the first encrypted write.
"""

from __future__ import annotations

import base64
import binascii
import re
from dataclasses import dataclass

_KEY_ID = re.compile(r"^[A-Za-z0-9_-]{1,16}$")


class KeyConfigError(ValueError):
    """The key variable is malformed; the message says how."""


@dataclass(frozen=True, slots=True)
class FieldKey:
    key_id: str
    secret: bytes


def decode_secret(text: str, *, what: str) -> bytes:
    """Decode a base64 (standard or URL-safe, padding optional) 32-byte secret."""
    cleaned = text.strip()
    padded = cleaned + "=" * (-len(cleaned) % 4)
    try:
        raw = base64.b64decode(
            padded.replace("+", "-").replace("/", "_"), altchars=b"-_", validate=True
        )
    except (binascii.Error, ValueError):
        raise KeyConfigError(f"{what}: not valid base64") from None
    if len(raw) != 32:
        raise KeyConfigError(f"{what}: must decode to 32 bytes (AES-256), got {len(raw)}")
    return raw


def parse_field_keys(entries: list[str]) -> tuple[FieldKey, ...]:
    """Parse ``id:base64`` entries, oldest first; the last one is used for new writes."""
    keys: list[FieldKey] = []
    seen: set[str] = set()
    for position, entry in enumerate(entries, start=1):
        key_id, sep, secret = entry.partition(":")
        if not sep:
            raise KeyConfigError(f"entry {position} must look like ID:BASE64KEY")
        if not _KEY_ID.match(key_id):
            raise KeyConfigError(
                f"entry {position}: key id {key_id!r} must be 1-16 letters, digits, '-' or '_'"
            )
        if key_id in seen:
            raise KeyConfigError(f"entry {position}: key id {key_id!r} is listed twice")
        seen.add(key_id)
        keys.append(FieldKey(key_id, decode_secret(secret, what=f"key {key_id!r}")))
    if not keys:
        raise KeyConfigError("at least one key is required")
    return tuple(keys)


# --- audit log keys --------------------------------------------------------------------------
# MADOGUCHI_AUDIT_KEYS (HMAC keys of the audit chain) and the Ed25519 keys that sign audit
# checkpoints share the ``ID:BASE64`` form of the field keys, with messages of their own.


@dataclass(frozen=True, slots=True)
class AuditKey:
    """A 32-byte key with its id: an HMAC key, an Ed25519 private seed or public key."""

    key_id: str
    secret: bytes


def _decode_32(text: str, *, what: str) -> bytes:
    cleaned = text.strip()
    padded = cleaned + "=" * (-len(cleaned) % 4)
    try:
        raw = base64.b64decode(
            padded.replace("+", "-").replace("/", "_"), altchars=b"-_", validate=True
        )
    except (binascii.Error, ValueError):
        raise KeyConfigError(f"{what}: not valid base64") from None
    if len(raw) != 32:
        raise KeyConfigError(f"{what}: must decode to 32 bytes, got {len(raw)}")
    return raw


def parse_audit_key(entry: str, *, position: int = 1) -> AuditKey:
    """Parse one ``ID:BASE64`` entry whose key is 32 bytes."""
    key_id, sep, secret = entry.strip().partition(":")
    if not sep:
        raise KeyConfigError(f"entry {position} must look like ID:BASE64KEY")
    if not _KEY_ID.match(key_id):
        raise KeyConfigError(
            f"entry {position}: key id {key_id!r} must be 1-16 letters, digits, '-' or '_'"
        )
    return AuditKey(key_id, _decode_32(secret, what=f"key {key_id!r}"))


def parse_audit_keys(entries: list[str], *, required: bool = True) -> tuple[AuditKey, ...]:
    """Parse ``ID:BASE64`` entries, oldest first, each id once; the last one is the newest."""
    keys: list[AuditKey] = []
    seen: set[str] = set()
    for position, entry in enumerate(entries, start=1):
        key = parse_audit_key(entry, position=position)
        if key.key_id in seen:
            raise KeyConfigError(f"entry {position}: key id {key.key_id!r} is listed twice")
        seen.add(key.key_id)
        keys.append(key)
    if required and not keys:
        raise KeyConfigError("at least one key is required")
    return tuple(keys)


# Fewer distinct byte values than this in 32 bytes is a placeholder (all zeros, one letter
# repeated), not a random key: 32 random bytes have about 30 distinct values, and fewer than 8
# happens with a probability below 1e-30.
_MIN_DISTINCT_BYTES = 8


def _looks_random(secret: bytes) -> bool:
    return len(set(secret)) >= _MIN_DISTINCT_BYTES


def production_key_problems(
    *,
    secret_key: str,
    allowed_hosts: list[str],
    field_keys: tuple[FieldKey, ...],
    blind_index_key: bytes,
    published_secret_keys: frozenset[str],
    published_secrets: frozenset[bytes],
) -> list[str]:
    """What makes these settings unsafe for production, one message per problem, naming the
    variable; empty when they are fine.

    ``published_secret_keys`` and ``published_secrets`` are the development values printed in
    the source: anyone can read them, so they protect nothing.
    """
    problems: list[str] = []
    if secret_key in published_secret_keys:
        problems.append("MADOGUCHI_SECRET_KEY is the public development key; set a random one")
    if any(host.strip() == "*" for host in allowed_hosts):
        problems.append(
            "MADOGUCHI_ALLOWED_HOSTS must name the site's hosts; '*' accepts any Host header"
        )
    for key in field_keys:
        if key.secret in published_secrets:
            problems.append(f"MADOGUCHI_FIELD_KEYS: key {key.key_id!r} is a public development key")
        elif not _looks_random(key.secret):
            problems.append(
                f"MADOGUCHI_FIELD_KEYS: key {key.key_id!r} is not random (too few distinct bytes)"
            )
    if blind_index_key in published_secrets:
        problems.append("MADOGUCHI_BLIND_INDEX_KEY is a public development key")
    elif not _looks_random(blind_index_key):
        problems.append("MADOGUCHI_BLIND_INDEX_KEY is not random (too few distinct bytes)")
    if any(key.secret == blind_index_key for key in field_keys):
        problems.append(
            "MADOGUCHI_BLIND_INDEX_KEY must differ from every key of MADOGUCHI_FIELD_KEYS"
        )
    return problems
