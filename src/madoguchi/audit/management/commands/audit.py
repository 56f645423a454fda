"""``madoguchi audit verify|checkpoint|seal|keygen``: prove the audit log was not tampered with.

- ``verify [--municipality CODE] [--checkpoints PATH] [--public-key ID:KEY]`` walks the keyed
  hash chains and checks them against the signed checkpoints; it says up to which checkpoint
  each chain is proven and exits non-zero on any failure.
- ``checkpoint`` verifies every chain and writes a signed checkpoint of each to the places the
  operator chose (MADOGUCHI_AUDIT_CHECKPOINT_DIR, MADOGUCHI_AUDIT_CHECKPOINT_EMAIL).
- ``seal`` seals the entries still waiting to be sealed into their chain (what every task
  worker does every MADOGUCHI_AUDIT_SEAL_INTERVAL seconds).
- ``keygen`` prints new keys for the three MADOGUCHI_AUDIT_* key variables.
"""

from __future__ import annotations

import base64
import os
import smtplib
from argparse import ArgumentParser
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from madoguchi.audit.checkpoints import (
    Checkpoint,
    CheckpointError,
    CheckpointSet,
    checkpoint_public_keys,
    checkpoint_sign,
    checkpoints_read,
    checkpoints_send_email,
    checkpoints_write_file,
)
from madoguchi.audit.sealing import audit_seal_all
from madoguchi.audit.selectors import ChainReport, audit_chain_verify, audit_chains
from madoguchi.core.checkdigits import CheckDigitError, validate_lgcode
from madoguchi.core.keys import AuditKey, KeyConfigError, parse_audit_key

NO_CHECKPOINTS_WARNING = (
    "warning: no checkpoints given (--checkpoints or MADOGUCHI_AUDIT_CHECKPOINT_DIR): entries"
    " removed from the end of a chain, or a whole chain, cannot be detected"
)


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode("ascii").rstrip("=")


class Command(BaseCommand):
    help = (
        "Audit log tools. 'verify' checks the keyed hash chains against the signed checkpoints;"
        " 'checkpoint' writes signed checkpoints outside the database; 'keygen' prints new keys."
    )

    def add_arguments(self, parser: ArgumentParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        verify = sub.add_parser("verify", help="verify the hash chains and the checkpoints")
        verify.add_argument(
            "--municipality", metavar="CODE", help="6-digit code; default: every chain"
        )
        verify.add_argument(
            "--checkpoints",
            metavar="PATH",
            help="a checkpoint file or a folder of *.jsonl files;"
            " default: MADOGUCHI_AUDIT_CHECKPOINT_DIR",
        )
        verify.add_argument(
            "--public-key",
            metavar="ID:KEY",
            action="append",
            default=[],
            help="an Ed25519 public key checkpoints may be signed with (repeatable)",
        )
        sub.add_parser("checkpoint", help="write a signed checkpoint of every chain")
        sub.add_parser("seal", help="seal entries still waiting to be sealed into their chain")
        keygen = sub.add_parser("keygen", help="print new audit keys")
        keygen.add_argument(
            "--key-id", default="", help="id of the new keys (default: today's date, YYYYMMDD)"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        action = options["action"]
        if action == "verify":
            self.verify(options)
        elif action == "checkpoint":
            self.checkpoint()
        elif action == "seal":
            sealed = audit_seal_all()
            self.stdout.write(f"sealed {sealed} entries")
        else:
            self.keygen(options["key_id"] or timezone.localdate().strftime("%Y%m%d"))

    # --- verify ------------------------------------------------------------------------------

    def verify(self, options: dict[str, Any]) -> None:
        code = options.get("municipality")
        if code is not None:
            try:
                code = validate_lgcode(code)
            except CheckDigitError as exc:
                raise CommandError(f"--municipality: {exc}") from None
        extra: list[AuditKey] = []
        for position, text in enumerate(options["public_key"], start=1):
            try:
                extra.append(parse_audit_key(text, position=position))
            except KeyConfigError as exc:
                raise CommandError(f"--public-key: {exc}") from None
        path = options.get("checkpoints") or settings.AUDIT_CHECKPOINT_DIR
        checkpoints: CheckpointSet | None = None
        if path:
            try:
                checkpoints = checkpoints_read(
                    Path(path), public_keys=checkpoint_public_keys(extra)
                )
            except CheckpointError as exc:
                raise CommandError(
                    f"checkpoints: {exc}; give the file or folder the checkpoints were written"
                    " to (run 'madoguchi audit checkpoint' first if there is none yet)"
                ) from None
        known = checkpoints.chains() if checkpoints is not None else set()
        if code is not None:
            known = {chain for chain in known if chain == code}
        chains = audit_chains(municipality_code=code, also=known)
        failed = 0
        for chain in chains:
            report = audit_chain_verify(
                chain, checkpoints=checkpoints.for_chain(chain) if checkpoints else ()
            )
            self.stdout.write(self._describe(report, checkpoints is not None))
            failed += not report.ok
        problems = checkpoints.problems if checkpoints is not None else []
        for problem in problems:
            self.stdout.write(f"checkpoints: BAD {problem}")
        if checkpoints is not None:
            self.stdout.write(
                f"checkpoints: {len(checkpoints.checkpoints)} read from {checkpoints.files}"
                f" file(s) at {path}"
            )
        else:
            self.stderr.write(NO_CHECKPOINTS_WARNING)
        if not chains:
            self.stdout.write("no audit entries yet")
        if failed or problems:
            parts = []
            if failed:
                parts.append(f"{failed} of {len(chains)} chain(s) failed verification")
            if problems:
                parts.append(f"{len(problems)} checkpoint line(s) could not be trusted")
            raise CommandError("; ".join(parts))

    @staticmethod
    def _describe(report: ChainReport, with_checkpoints: bool) -> str:
        chain = report.chain
        if report.missing:
            return f"chain {chain}: MISSING: {report.reason}"
        if not report.ok:
            if report.first_bad_seq is None:
                where = f"unsealed entry (id {report.first_bad_id})"
            else:
                where = f"entry #{report.first_bad_seq}"
                if report.first_bad_id is not None:
                    where += f" (id {report.first_bad_id})"
            return f"chain {chain}: BROKEN at {where}: {report.reason}"
        legacy = f", {report.legacy} of them hashed without a key" if report.legacy else ""
        waiting = f", {report.unsealed} more waiting to be sealed" if report.unsealed else ""
        line = f"chain {chain}: ok ({report.entries} entries{legacy}{waiting})"
        if not with_checkpoints:
            return line
        proof = report.proven_by
        if proof is None:
            return f"{line}, no checkpoint yet"
        line += f", proven up to the checkpoint of {proof.time} (#{proof.seq})"
        newer = report.entries - proof.seq
        return line + (f"; {newer} newer entries not yet in a checkpoint" if newer else "")

    # --- checkpoint --------------------------------------------------------------------------

    def checkpoint(self) -> None:
        key: AuditKey | None = settings.AUDIT_CHECKPOINT_SIGNING_KEY
        if key is None:
            raise CommandError(
                "MADOGUCHI_AUDIT_CHECKPOINT_KEY is not set; 'madoguchi audit keygen' prints one"
                " (see docs/operations.md)"
            )
        directory = Path(settings.AUDIT_CHECKPOINT_DIR) if settings.AUDIT_CHECKPOINT_DIR else None
        recipients: list[str] = list(settings.AUDIT_CHECKPOINT_EMAIL)
        if directory is None and not recipients:
            raise CommandError(
                "no checkpoint destination: set MADOGUCHI_AUDIT_CHECKPOINT_DIR and/or"
                " MADOGUCHI_AUDIT_CHECKPOINT_EMAIL (see docs/configuration.md)"
            )
        previous = CheckpointSet()
        if directory is not None and directory.exists() and any(directory.glob("*.jsonl")):
            try:
                previous = checkpoints_read(directory, public_keys=checkpoint_public_keys())
            except CheckpointError as exc:
                raise CommandError(f"checkpoints: {exc}") from None
        failed = 0
        taken: list[Checkpoint] = []
        now = timezone.now()
        for chain in audit_chains(also=previous.chains()):
            earlier = previous.for_chain(chain)
            since = max(earlier, key=lambda cp: cp.order, default=None)
            report = audit_chain_verify(chain, checkpoints=earlier, since=since)
            if not report.ok:
                failed += 1
                self.stdout.write(self._describe(report, True) + " (no checkpoint written)")
            elif report.entries:
                taken.append(
                    checkpoint_sign(
                        chain=chain,
                        seq=report.last_seq,
                        hash=report.last_hash,
                        entries=report.entries,
                        key=key,
                        at=now,
                    )
                )
        for problem in previous.problems:
            failed += 1
            self.stdout.write(f"checkpoints: BAD {problem}")
        for checkpoint in taken:
            self.stdout.write(
                f"checkpoint {checkpoint.chain} #{checkpoint.seq}"
                f" ({checkpoint.entries} entries) at {checkpoint.time}"
            )
        if not taken:
            self.stdout.write("no audit entries to checkpoint")
        errors = []
        if taken and directory is not None:
            try:
                written = checkpoints_write_file(directory, taken)
            except OSError as exc:
                errors.append(f"could not write to {directory}: {exc}")
            else:
                self.stdout.write(f"written to {written}")
        if taken and recipients:
            try:
                checkpoints_send_email(recipients, taken)
            except (smtplib.SMTPException, OSError) as exc:
                errors.append(f"could not send the e-mail to {', '.join(recipients)}: {exc}")
            else:
                self.stdout.write(f"sent to {', '.join(recipients)}")
        if failed:
            errors.append(f"{failed} problem(s) found; verify with 'madoguchi audit verify'")
        if errors:
            raise CommandError("; ".join(errors))

    # --- keygen ------------------------------------------------------------------------------

    def keygen(self, key_id: str) -> None:
        try:
            parse_audit_key(f"{key_id}:{_b64(bytes(32))}")
        except KeyConfigError as exc:
            raise CommandError(f"--key-id: {exc}") from None
        seed = os.urandom(32)
        public = (
            Ed25519PrivateKey.from_private_bytes(seed)
            .public_key()
            .public_bytes(Encoding.Raw, PublicFormat.Raw)
        )
        self.stdout.write(
            "# the HMAC key of the audit chain (append to the list when rotating)\n"
            f"MADOGUCHI_AUDIT_KEYS={key_id}:{_b64(os.urandom(32))}\n"
            "# the private key that signs checkpoints: keep it on the servers only\n"
            f"MADOGUCHI_AUDIT_CHECKPOINT_KEY={key_id}:{_b64(seed)}\n"
            "# its public key: give it to whoever verifies (audit verify --public-key)\n"
            f"MADOGUCHI_AUDIT_CHECKPOINT_PUBLIC_KEYS={key_id}:{_b64(public)}"
        )
