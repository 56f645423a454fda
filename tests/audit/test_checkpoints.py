"""``madoguchi audit checkpoint``: signed checkpoints in a file and by e-mail, and ``verify``."""

from __future__ import annotations

import base64
import email
import email.header
import email.message
import json
from io import StringIO
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from django.core.management import call_command
from django.core.management.base import CommandError

from madoguchi.audit.models import AuditEntry
from madoguchi.audit.services import AuditActor, audit_event
from madoguchi.core.keys import AuditKey
from madoguchi.tenants.models import Municipality
from tests.audit.test_attacks import checkpoint_time, delete_chain, delete_tail, sql
from tests.procedures.test_submit import _SMTPServer, closed_port, smtp_server
from tests.tenants.factories import MunicipalityFactory
from tests.test_settings import run_madoguchi

__all__ = ["smtp_server"]  # the loopback SMTP server fixture of the procedures tests

ACTOR = AuditActor(label="tester", ip="192.0.2.1")
DEV_PUBLIC = "ytoN-97DIU9fp18v1KVZVoYabwfDQgAY6o1V7KXZ0nc"  # of the development signing key


@pytest.fixture
def kobe(db: None) -> Municipality:
    return MunicipalityFactory(code="281000", name="神戸市", slug="kobe")


@pytest.fixture
def entries(kobe: Municipality) -> None:
    """神戸市 with 3 entries, the platform with 1."""
    for n in range(3):
        audit_event(municipality=kobe, action="case.update", actor=ACTOR, data={"n": n})
    audit_event(municipality=None, action="municipality.load", actor=ACTOR)


@pytest.fixture
def folder(settings: Any, tmp_path: Path) -> Path:
    settings.AUDIT_CHECKPOINT_DIR = str(tmp_path / "checkpoints")
    settings.AUDIT_CHECKPOINT_EMAIL = []
    return tmp_path / "checkpoints"


def run(*args: str) -> tuple[str, str, str | None]:
    """Run ``madoguchi audit ...``: its output, its warnings and its error message, if any."""
    out, err = StringIO(), StringIO()
    try:
        call_command("audit", *args, stdout=out, stderr=err)
    except CommandError as exc:
        return out.getvalue(), err.getvalue(), str(exc)
    return out.getvalue(), err.getvalue(), None


def lines_of(folder: Path) -> list[dict[str, Any]]:
    [file] = folder.glob("*.jsonl")
    return [json.loads(line) for line in file.read_text("utf-8").splitlines()]


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


# --- writing -----------------------------------------------------------------------------------


@pytest.mark.usefixtures("entries")
def test_a_checkpoint_of_every_chain_is_appended_to_the_months_file(folder: Path) -> None:
    """One signed JSON line per chain naming its last seq, hash, entry count, time and key."""
    output, _, error = run("checkpoint")

    assert error is None
    [file] = folder.glob("*.jsonl")
    assert file.name.startswith("checkpoints-")
    assert len(file.name) == len("checkpoints-2026-12.jsonl")
    assert file.stat().st_mode & 0o777 == 0o600
    kobe_last = AuditEntry.objects.get(chain="281000", seq=3)
    platform_last = AuditEntry.objects.get(chain="platform", seq=1)
    time = checkpoint_time(folder)
    records = lines_of(folder)
    assert [{k: v for k, v in r.items() if k != "sig"} for r in records] == [
        {"v": 1, "chain": "281000", "seq": 3, "hash": kobe_last.hash, "entries": 3,
         "time": time, "key": "dev"},
        {"v": 1, "chain": "platform", "seq": 1, "hash": platform_last.hash, "entries": 1,
         "time": time, "key": "dev"},
    ]  # fmt: skip
    assert time.endswith("+00:00")
    assert output.splitlines() == [
        f"checkpoint 281000 #3 (3 entries) at {time}",
        f"checkpoint platform #1 (1 entries) at {time}",
        f"written to {file}",
    ]


@pytest.mark.usefixtures("entries")
def test_a_second_run_appends_and_keeps_the_first(folder: Path, kobe: Municipality) -> None:
    run("checkpoint")
    first = lines_of(folder)
    audit_event(municipality=kobe, action="case.close", actor=ACTOR)

    assert run("checkpoint")[2] is None

    records = lines_of(folder)
    assert records[:2] == first
    assert [(r["chain"], r["seq"]) for r in records[2:]] == [("281000", 4), ("platform", 1)]


def test_the_signature_verifies_with_the_public_key_alone(folder: Path, entries: None) -> None:
    """Ed25519 over the line's fields: an offline verifier needs only the public key."""
    run("checkpoint")
    [record, _] = lines_of(folder)
    signature = base64.b64decode(record.pop("sig"))
    message = (
        b"madoguchi-audit-checkpoint-v1\n"
        + json.dumps(record, sort_keys=True, separators=(",", ":")).encode()
    )
    private = Ed25519PrivateKey.from_private_bytes(
        base64.urlsafe_b64decode("ZGV2ZWxvcG1lbnQtb25seS1jaGVja3BvaW50LWtleSE=")
    )
    public = private.public_key()
    assert _b64(public.public_bytes(Encoding.Raw, PublicFormat.Raw)) == DEV_PUBLIC
    public.verify(signature, message)  # raises InvalidSignature when it does not match


def test_without_a_destination_checkpoint_refuses(settings: Any, entries: None) -> None:
    settings.AUDIT_CHECKPOINT_DIR = ""
    settings.AUDIT_CHECKPOINT_EMAIL = []
    assert run("checkpoint") == (
        "",
        "",
        "no checkpoint destination: set MADOGUCHI_AUDIT_CHECKPOINT_DIR and/or"
        " MADOGUCHI_AUDIT_CHECKPOINT_EMAIL (see docs/configuration.md)",
    )


def test_without_a_signing_key_checkpoint_refuses(
    settings: Any, folder: Path, entries: None
) -> None:
    settings.AUDIT_CHECKPOINT_SIGNING_KEY = None
    output, _, error = run("checkpoint")
    assert output == ""
    assert error == (
        "MADOGUCHI_AUDIT_CHECKPOINT_KEY is not set; 'madoguchi audit keygen' prints one"
        " (see docs/operations.md)"
    )
    assert not folder.exists()


def test_an_empty_log_writes_nothing(folder: Path, db: None) -> None:
    assert run("checkpoint") == ("no audit entries to checkpoint\n", "", None)
    assert not folder.exists()


@pytest.mark.usefixtures("entries")
def test_a_broken_chain_gets_no_checkpoint_and_the_run_fails(folder: Path) -> None:
    """A chain that does not verify is not blessed; the others are still checkpointed."""
    target = AuditEntry.objects.get(chain="281000", seq=2)
    sql("UPDATE audit_auditentry SET action = 'case.delete' WHERE id = %s", [target.pk])

    output, _, error = run("checkpoint")

    assert error == "1 problem(s) found; verify with 'madoguchi audit verify'"
    assert output.splitlines()[0] == (
        f"chain 281000: BROKEN at entry #2 (id {target.pk}): content does not match its hash"
        " (the entry was altered) (no checkpoint written)"
    )
    assert [r["chain"] for r in lines_of(folder)] == ["platform"]


@pytest.mark.usefixtures("entries")
def test_a_chain_gone_since_the_last_checkpoint_is_reported_by_the_next(folder: Path) -> None:
    """``checkpoint`` reads the earlier checkpoints, so a deleted chain is not forgotten."""
    run("checkpoint")
    time = checkpoint_time(folder)
    delete_chain("281000")

    output, _, error = run("checkpoint")

    assert error == "1 problem(s) found; verify with 'madoguchi audit verify'"
    assert output.splitlines()[0] == (
        f"chain 281000: MISSING: the chain is missing from the database: the checkpoint of"
        f" {time} recorded 3 entries up to #3 (the chain was deleted) (no checkpoint written)"
    )
    assert [r["chain"] for r in lines_of(folder)] == ["281000", "platform", "platform"]


@pytest.mark.usefixtures("entries")
def test_a_tail_removed_since_the_last_checkpoint_is_reported_by_the_next(folder: Path) -> None:
    run("checkpoint")
    time = checkpoint_time(folder)
    delete_tail("281000", keep=1)

    output, _, error = run("checkpoint")

    assert error == "1 problem(s) found; verify with 'madoguchi audit verify'"
    assert output.splitlines()[0] == (
        f"chain 281000: BROKEN at entry #2: chain ends at #1 but the checkpoint of {time}"
        " recorded #3 (entries were removed from the end) (no checkpoint written)"
    )


@pytest.mark.usefixtures("entries")
def test_checkpoint_walks_only_the_entries_since_the_last_checkpoint(
    folder: Path, kobe: Municipality
) -> None:
    """The periodic run stays cheap on a long chain; the full walk is ``verify``'s job."""
    run("checkpoint")
    first = AuditEntry.objects.get(chain="281000", seq=1)
    sql("UPDATE audit_auditentry SET action = 'case.delete' WHERE id = %s", [first.pk])
    audit_event(municipality=kobe, action="case.close", actor=ACTOR)

    assert run("checkpoint")[2] is None
    assert [(r["chain"], r["seq"]) for r in lines_of(folder)[2:]] == [
        ("281000", 4),
        ("platform", 1),
    ]

    output, _, error = run("verify")
    assert error == "1 of 2 chain(s) failed verification"
    assert output.splitlines()[0] == (
        f"chain 281000: BROKEN at entry #1 (id {first.pk}): content does not match its hash"
        " (the entry was altered)"
    )


# --- reading -----------------------------------------------------------------------------------


def _tamper(folder: Path, line: int, **changes: Any) -> None:
    [file] = folder.glob("*.jsonl")
    records = lines_of(folder)
    records[line].update(changes)
    file.write_text("".join(json.dumps(r) + "\n" for r in records), "utf-8")


@pytest.mark.usefixtures("entries")
@pytest.mark.parametrize(
    "changes", [{"seq": 2}, {"entries": 2}, {"time": "2030-01-01T00:00:00+00:00"}]
)
def test_an_altered_checkpoint_is_refused(folder: Path, changes: dict[str, Any]) -> None:
    """Editing a checkpoint (to hide a removed tail) breaks its signature; verify fails."""
    run("checkpoint")
    time = checkpoint_time(folder)
    _tamper(folder, 0, **changes)
    file = next(folder.glob("*.jsonl"))

    output, _, error = run("verify")

    assert error == "1 checkpoint line(s) could not be trusted"
    assert output.splitlines() == [
        "chain 281000: ok (3 entries), no checkpoint yet",
        f"chain platform: ok (1 entries), proven up to the checkpoint of {time} (#1)",
        f"checkpoints: BAD {file}:1: the signature does not match (the checkpoint was altered"
        " or forged)",
        f"checkpoints: 1 read from 1 file(s) at {folder}",
    ]


@pytest.mark.usefixtures("entries")
def test_a_malformed_checkpoint_line_is_named(folder: Path) -> None:
    run("checkpoint")
    file = next(folder.glob("*.jsonl"))
    with file.open("a") as handle:
        handle.write('{"chain": "281000"}\nnot json\n')

    output, _, error = run("verify")

    assert error == "2 checkpoint line(s) could not be trusted"
    assert output.splitlines()[2:4] == [
        f"checkpoints: BAD {file}:3: not a checkpoint (expected exactly the fields chain,"
        " entries, hash, key, seq, sig, time, v)",
        f"checkpoints: BAD {file}:4: not a checkpoint (not valid JSON)",
    ]


@pytest.mark.usefixtures("entries")
def test_an_offline_verifier_needs_only_the_public_key(folder: Path, settings: Any) -> None:
    """Without the private key, the checkpoints verify with ``--public-key``, not without it."""
    run("checkpoint")
    time = checkpoint_time(folder)
    file = next(folder.glob("*.jsonl"))
    settings.AUDIT_CHECKPOINT_SIGNING_KEY = None

    output, _, error = run("verify")
    assert error == "2 checkpoint line(s) could not be trusted"
    assert output.splitlines()[2] == (
        f"checkpoints: BAD {file}:1: signed with key 'dev', whose public key was not given"
        " (--public-key or MADOGUCHI_AUDIT_CHECKPOINT_PUBLIC_KEYS)"
    )

    output, _, error = run(
        "verify", "--checkpoints", str(file), "--public-key", f"dev:{DEV_PUBLIC}"
    )
    assert error is None
    assert output.splitlines()[0] == (
        f"chain 281000: ok (3 entries), proven up to the checkpoint of {time} (#3)"
    )


@pytest.mark.usefixtures("entries")
def test_checkpoints_of_a_rotated_key_verify_with_its_public_key(
    folder: Path, settings: Any
) -> None:
    """After the signing key changes, MADOGUCHI_AUDIT_CHECKPOINT_PUBLIC_KEYS keeps old ones."""
    run("checkpoint")
    settings.AUDIT_CHECKPOINT_SIGNING_KEY = AuditKey("2026b", b"s" * 32)
    assert run("verify")[2] == "2 checkpoint line(s) could not be trusted"

    old_public = AuditKey("dev", base64.urlsafe_b64decode(DEV_PUBLIC + "="))
    settings.AUDIT_CHECKPOINT_PUBLIC_KEYS = (old_public,)
    assert run("checkpoint")[2] is None
    assert [r["key"] for r in lines_of(folder)] == ["dev", "dev", "2026b", "2026b"]
    output, _, error = run("verify")
    assert error is None
    assert output.splitlines()[-1] == f"checkpoints: 4 read from 1 file(s) at {folder}"


@pytest.mark.usefixtures("entries")
def test_a_missing_checkpoint_file_is_a_clear_error(tmp_path: Path) -> None:
    missing = tmp_path / "nowhere.jsonl"
    assert run("verify", "--checkpoints", str(missing)) == (
        "",
        "",
        f"checkpoints: {missing} does not exist; give the file or folder the checkpoints were"
        " written to (run 'madoguchi audit checkpoint' first if there is none yet)",
    )


@pytest.mark.usefixtures("entries")
def test_a_folder_without_checkpoint_files_is_a_clear_error(tmp_path: Path) -> None:
    output, _, error = run("verify", "--checkpoints", str(tmp_path))
    assert output == ""
    assert error is not None
    assert error.startswith(f"checkpoints: {tmp_path} holds no checkpoint files (*.jsonl); ")


@pytest.mark.usefixtures("entries")
def test_without_checkpoints_verify_warns_what_it_cannot_see(settings: Any) -> None:
    settings.AUDIT_CHECKPOINT_DIR = ""
    output, warning, error = run("verify")
    assert error is None
    assert output == "chain 281000: ok (3 entries)\nchain platform: ok (1 entries)\n"
    assert warning == (
        "warning: no checkpoints given (--checkpoints or MADOGUCHI_AUDIT_CHECKPOINT_DIR): entries"
        " removed from the end of a chain, or a whole chain, cannot be detected\n"
    )


def test_a_failed_verify_exits_non_zero(tmp_path: Path) -> None:
    """Through the real command line: status 1 and the message on standard error."""
    result = run_madoguchi(
        "audit",
        "verify",
        "--checkpoints",
        str(tmp_path / "missing"),
        env={"MADOGUCHI_ENV": "development"},
        tmp_path=tmp_path,
    )
    assert result.returncode == 1
    assert result.stdout == ""
    assert result.stderr == (
        f"CommandError: checkpoints: {tmp_path / 'missing'} does not exist; give the file or"
        " folder the checkpoints were written to (run 'madoguchi audit checkpoint' first if"
        " there is none yet)\n"
    )


# --- e-mail ------------------------------------------------------------------------------------


@pytest.mark.usefixtures("entries")
def test_checkpoints_are_mailed_and_the_attachment_verifies(
    settings: Any, smtp_server: _SMTPServer, tmp_path: Path
) -> None:
    """Over real SMTP: one message to each address, the lines attached as a .jsonl file."""
    settings.AUDIT_CHECKPOINT_DIR = ""
    settings.AUDIT_CHECKPOINT_EMAIL = ["audit@example.jp", "kansa@example.jp"]

    output, _, error = run("checkpoint")

    assert error is None
    assert output.splitlines()[-1] == "sent to audit@example.jp, kansa@example.jp"
    [(_, recipients, data)] = smtp_server.messages
    assert recipients == ["<audit@example.jp>", "<kansa@example.jp>"]
    message = email.message_from_bytes(data)
    subject = str(email.header.make_header(email.header.decode_header(message["Subject"])))
    assert subject.startswith("監査ログのチェックポイント 20")
    [body, attachment] = [part for part in message.walk() if not part.is_multipart()]
    text = body.get_payload(decode=True)
    assert isinstance(text, bytes)
    assert "このメールは削除せずに保管してください。" in text.decode("utf-8")
    assert attachment.get_filename().startswith("checkpoints-")
    content = attachment.get_payload(decode=True)
    assert isinstance(content, bytes)
    lines = content.decode("utf-8").splitlines()
    assert [json.loads(line)["chain"] for line in lines] == ["281000", "platform"]
    assert "\n".join(lines) in text.decode("utf-8").replace("\r\n", "\n")

    saved = tmp_path / "mail.jsonl"
    saved.write_bytes(content)
    output, _, error = run("verify", "--checkpoints", str(saved))
    assert error is None
    assert output.splitlines()[0].startswith("chain 281000: ok (3 entries), proven up to the")


@pytest.mark.usefixtures("entries")
def test_a_mail_server_that_is_down_fails_the_run_but_keeps_the_file(
    settings: Any, folder: Path
) -> None:
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST = "127.0.0.1"
    settings.EMAIL_PORT = closed_port()
    settings.EMAIL_TIMEOUT = 2
    settings.AUDIT_CHECKPOINT_EMAIL = ["audit@example.jp"]

    output, _, error = run("checkpoint")

    assert output.splitlines()[-1].startswith("written to ")
    assert error is not None
    assert error.startswith("could not send the e-mail to audit@example.jp: ")
    assert [r["chain"] for r in lines_of(folder)] == ["281000", "platform"]
