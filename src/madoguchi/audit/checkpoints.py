"""Signed checkpoints of the audit chains, kept outside the database.

A checkpoint records, for one chain, its last sequence number, that entry's hash, the number
of entries and the time, signed with Ed25519 (MADOGUCHI_AUDIT_CHECKPOINT_KEY). Someone who can
rewrite the database cannot rewrite checkpoints already written to a file elsewhere or sent by
e-mail, so ``madoguchi audit verify --checkpoints`` detects entries removed from the end of a
chain, a chain removed altogether, and entries rewritten with recomputed hashes before the
checkpoint. Ed25519 rather than an HMAC: whoever verifies needs only the public key, and
holding it does not let them forge a checkpoint.

Each checkpoint is one JSON line; files are ``checkpoints-YYYY-MM.jsonl``, only ever appended to.
"""

from __future__ import annotations

import base64
import binascii
import datetime
import json
import os
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from django.conf import settings
from django.core.mail import EmailMessage
from django.utils import timezone
from django.utils.translation import gettext as _

from madoguchi.core.keys import AuditKey

__all__ = [
    "Checkpoint",
    "CheckpointError",
    "CheckpointSet",
    "checkpoint_public_keys",
    "checkpoint_sign",
    "checkpoints_read",
    "checkpoints_send_email",
    "checkpoints_write_file",
]

_FORMAT_VERSION = 1
# Signed messages start with this, so a checkpoint signature is never valid for anything else.
_CONTEXT = b"madoguchi-audit-checkpoint-v1\n"
_FIELDS = {"v", "chain", "seq", "hash", "entries", "time", "key", "sig"}
_HASH = re.compile(r"^[0-9a-f]{64}$")
_CHAIN = re.compile(r"^(?:[0-9]{6}|platform)$")


class CheckpointError(Exception):
    """The checkpoints cannot be read or written at all; the message says why."""


@dataclass(frozen=True, slots=True)
class Checkpoint:
    chain: str
    seq: int
    hash: str
    entries: int
    time: str  # ISO 8601 in UTC, seconds
    key_id: str
    signature: str = ""
    source: str = ""  # where it was read ("file:line"), for messages; not signed

    def signed_text(self) -> bytes:
        payload = {
            "v": _FORMAT_VERSION,
            "chain": self.chain,
            "seq": self.seq,
            "hash": self.hash,
            "entries": self.entries,
            "time": self.time,
            "key": self.key_id,
        }
        return _CONTEXT + json.dumps(payload, sort_keys=True, separators=(",", ":")).encode()

    def to_line(self) -> str:
        record = json.loads(self.signed_text()[len(_CONTEXT) :])
        record["sig"] = self.signature
        return json.dumps(record, sort_keys=True, separators=(",", ":"))

    @property
    def order(self) -> tuple[int, str]:
        return self.seq, self.time


@dataclass(slots=True)
class CheckpointSet:
    """Checkpoints read and verified, and what was wrong with the lines that were not."""

    checkpoints: list[Checkpoint] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    files: int = 0

    def for_chain(self, chain: str) -> list[Checkpoint]:
        return [cp for cp in self.checkpoints if cp.chain == chain]

    def chains(self) -> set[str]:
        return {cp.chain for cp in self.checkpoints}


def _private_key(key: AuditKey) -> Ed25519PrivateKey:
    return Ed25519PrivateKey.from_private_bytes(key.secret)


def checkpoint_public_keys(extra: Iterable[AuditKey] = ()) -> dict[str, Ed25519PublicKey]:
    """Public keys checkpoints may be signed with, by id.

    The current signing key's public half, MADOGUCHI_AUDIT_CHECKPOINT_PUBLIC_KEYS (earlier
    keys) and ``extra`` (given to ``verify``); a later entry with the same id wins.
    """
    keys: dict[str, Ed25519PublicKey] = {}
    signing: AuditKey | None = settings.AUDIT_CHECKPOINT_SIGNING_KEY
    if signing is not None:
        keys[signing.key_id] = _private_key(signing).public_key()
    for key in [*settings.AUDIT_CHECKPOINT_PUBLIC_KEYS, *extra]:
        keys[key.key_id] = Ed25519PublicKey.from_public_bytes(key.secret)
    return keys


def checkpoint_sign(
    *, chain: str, seq: int, hash: str, entries: int, key: AuditKey, at: datetime.datetime
) -> Checkpoint:
    """A checkpoint of ``chain`` ending at entry ``seq`` with ``hash``, signed with ``key``."""
    unsigned = Checkpoint(
        chain=chain,
        seq=seq,
        hash=hash,
        entries=entries,
        time=at.astimezone(datetime.UTC).isoformat(timespec="seconds"),
        key_id=key.key_id,
    )
    signature = _private_key(key).sign(unsigned.signed_text())
    return Checkpoint(
        chain=chain,
        seq=seq,
        hash=hash,
        entries=entries,
        time=unsigned.time,
        key_id=key.key_id,
        signature=base64.b64encode(signature).decode("ascii"),
    )


def _parse_line(line: str, source: str) -> Checkpoint:
    """The checkpoint on one line; ValueError says what is wrong with it."""
    try:
        record = json.loads(line)
    except json.JSONDecodeError:
        raise ValueError("not valid JSON") from None
    if not isinstance(record, dict) or set(record) != _FIELDS:
        raise ValueError(f"expected exactly the fields {', '.join(sorted(_FIELDS))}")
    if record["v"] != _FORMAT_VERSION:
        raise ValueError(f"unknown format version {record['v']!r}")
    chain, seq, hash_, entries = record["chain"], record["seq"], record["hash"], record["entries"]
    time, key_id, signature = record["time"], record["key"], record["sig"]
    if not (isinstance(chain, str) and _CHAIN.match(chain)):
        raise ValueError("chain must be a 6-digit code or 'platform'")
    for name, value in (("seq", seq), ("entries", entries)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ValueError(f"{name} must be a positive integer")
    if not (isinstance(hash_, str) and _HASH.match(hash_)):
        raise ValueError("hash must be 64 lowercase hex digits")
    if not all(isinstance(value, str) for value in (time, key_id, signature)):
        raise ValueError("time, key and sig must be strings")
    try:
        datetime.datetime.fromisoformat(time)
    except ValueError:
        raise ValueError("time is not an ISO 8601 date and time") from None
    return Checkpoint(chain, seq, hash_, entries, time, key_id, signature, source)


def _signature_problem(checkpoint: Checkpoint, keys: dict[str, Ed25519PublicKey]) -> str:
    public = keys.get(checkpoint.key_id)
    if public is None:
        return (
            f"signed with key {checkpoint.key_id!r}, whose public key was not given"
            " (--public-key or MADOGUCHI_AUDIT_CHECKPOINT_PUBLIC_KEYS)"
        )
    try:
        signature = base64.b64decode(checkpoint.signature, validate=True)
        public.verify(signature, checkpoint.signed_text())
    except (binascii.Error, ValueError, InvalidSignature):
        return "the signature does not match (the checkpoint was altered or forged)"
    return ""


def checkpoint_files(path: Path) -> list[Path]:
    """The checkpoint files at ``path``: the file itself, or a folder's ``*.jsonl`` files."""
    if not path.exists():
        raise CheckpointError(f"{path} does not exist")
    if path.is_dir():
        files = sorted(p for p in path.glob("*.jsonl") if p.is_file())
        if not files:
            raise CheckpointError(f"{path} holds no checkpoint files (*.jsonl)")
        return files
    return [path]


def checkpoints_read(path: Path, *, public_keys: dict[str, Ed25519PublicKey]) -> CheckpointSet:
    """Read and verify every checkpoint at ``path`` (a file or a folder of ``*.jsonl``).

    Lines that are malformed or whose signature does not verify are left out and described
    in ``problems``; blank lines are ignored. Raises CheckpointError when nothing can be read.
    """
    result = CheckpointSet()
    for file in checkpoint_files(path):
        try:
            text = file.read_text("utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise CheckpointError(f"{file} cannot be read: {exc}") from None
        result.files += 1
        for number, line in enumerate(text.splitlines(), start=1):
            if not line.strip():
                continue
            source = f"{file}:{number}"
            try:
                checkpoint = _parse_line(line, source)
            except ValueError as exc:
                result.problems.append(f"{source}: not a checkpoint ({exc})")
                continue
            problem = _signature_problem(checkpoint, public_keys)
            if problem:
                result.problems.append(f"{source}: {problem}")
                continue
            result.checkpoints.append(checkpoint)
    return result


def checkpoints_write_file(directory: Path, checkpoints: Sequence[Checkpoint]) -> Path:
    """Append the checkpoints to this month's file in ``directory``, flushed to disk."""
    directory.mkdir(parents=True, exist_ok=True, mode=0o700)
    path = directory / f"checkpoints-{timezone.now().astimezone(datetime.UTC):%Y-%m}.jsonl"
    text = "".join(cp.to_line() + "\n" for cp in checkpoints).encode("utf-8")
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    try:
        # One write on an O_APPEND descriptor: lines of two runs at once never interleave.
        os.write(fd, text)
        os.fsync(fd)
    finally:
        os.close(fd)
    return path


def checkpoints_send_email(recipients: Sequence[str], checkpoints: Sequence[Checkpoint]) -> None:
    """Mail the checkpoints, in the text and as a ``.jsonl`` attachment ``verify`` can read."""
    lines = "".join(cp.to_line() + "\n" for cp in checkpoints)
    stamp = checkpoints[0].time if checkpoints else timezone.now().isoformat(timespec="seconds")
    body = (
        _(
            "監査ログのチェックポイントです（%(count)d 件）。"
            "このメールは削除せずに保管してください。"
            "添付ファイルを madoguchi audit verify --checkpoints に渡すと、監査ログが"
            "この時点から削除・改ざんされていないことを確かめられます。"
        )
        % {"count": len(checkpoints)}
        + "\n\n"
        + lines
    )
    message = EmailMessage(
        subject=_("監査ログのチェックポイント %(time)s") % {"time": stamp},
        body=body,
        to=list(recipients),
    )
    day = stamp[:19].replace(":", "")
    message.attach(f"checkpoints-{day}.jsonl", lines, "application/x-ndjson")
    message.send(fail_silently=False)
