"""Keyed hashes of the audit chain: HMAC under MADOGUCHI_AUDIT_KEYS, legacy entries, rotation."""

from __future__ import annotations

import base64
import datetime
import hashlib
import hmac
import json
from io import StringIO
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.test import override_settings

from madoguchi.audit.hashing import GENESIS_HASH, entry_hash
from madoguchi.audit.models import AuditChainHead, AuditEntry
from madoguchi.audit.services import AuditActor, audit_event
from madoguchi.core.keys import AuditKey, KeyConfigError, parse_audit_keys
from madoguchi.tenants.models import Municipality
from tests.audit.test_attacks import plain_sha256
from tests.tenants.factories import MunicipalityFactory
from tests.test_settings import PRODUCTION_ENV, run_madoguchi

ACTOR = AuditActor(label="tester", ip="192.0.2.1")
OLD = AuditKey("2025a", b"o" * 32)
NEW = AuditKey("2026a", b"n" * 32)


@pytest.fixture
def kobe(db: None) -> Municipality:
    return MunicipalityFactory(code="281000", name="神戸市", slug="kobe")


def verify(*args: str) -> tuple[str, str | None]:
    out = StringIO()
    try:
        call_command("audit", "verify", *args, stdout=out, stderr=StringIO())
    except CommandError as exc:
        return out.getvalue(), str(exc)
    return out.getvalue(), None


def legacy_entry(municipality: Municipality, action: str) -> AuditEntry:
    """An entry as written before keyed hashes: no key id, a plain SHA-256, the head moved."""
    head, _ = AuditChainHead.objects.get_or_create(
        chain=municipality.code, defaults={"last_hash": GENESIS_HASH}
    )
    entry = AuditEntry(
        chain=municipality.code,
        seq=head.last_seq + 1,
        municipality=municipality,
        kind="event",
        action=action,
        actor_label="tester",
        data={},
        created_at=datetime.datetime(2026, 4, 1, tzinfo=datetime.UTC),
        prev_hash=head.last_hash,
    )
    entry.sealed_at = entry.created_at  # as the migration to batch sealing sets it
    entry.hash = entry_hash(entry)
    entry.save()
    AuditChainHead.objects.filter(pk=head.pk).update(last_seq=entry.seq, last_hash=entry.hash)
    return entry


# --- the hash ----------------------------------------------------------------------------------


def test_a_new_entry_is_an_hmac_under_the_newest_key(kobe: Municipality, settings: Any) -> None:
    """The hash is HMAC-SHA256 of the canonical text, which names the key id, under that key."""
    settings.AUDIT_HASH_KEYS = (OLD, NEW)
    entry = audit_event(municipality=kobe, action="case.update", actor=ACTOR, data={"n": 1})
    entry.refresh_from_db()

    assert entry.key_id == "2026a"
    canonical = json.loads(hmac_input(entry))
    assert canonical["key_id"] == "2026a"
    assert entry.hash == hmac.new(NEW.secret, hmac_input(entry), hashlib.sha256).hexdigest()
    assert entry.hash != plain_sha256(entry)
    assert entry.hash != hmac.new(OLD.secret, hmac_input(entry), hashlib.sha256).hexdigest()


def hmac_input(entry: AuditEntry) -> bytes:
    payload = {
        "chain": entry.chain,
        "seq": entry.seq,
        "municipality_id": entry.municipality_id,
        "kind": entry.kind,
        "action": entry.action,
        "actor_id": entry.actor_id,
        "actor_label": entry.actor_label,
        "department_id": entry.department_id,
        "department_label": entry.department_label,
        "object_type": entry.object_type,
        "object_id": entry.object_id,
        "purpose": entry.purpose,
        "ip": entry.ip,
        "data": entry.data,
        "created_at": entry.created_at.astimezone(datetime.UTC).isoformat(timespec="microseconds"),
        "prev_hash": entry.prev_hash,
        "key_id": entry.key_id,
    }
    text = json.dumps(payload, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    return text.encode("utf-8")


def test_a_legacy_entry_keeps_the_hash_it_was_written_with() -> None:
    """An entry without a key id hashes exactly as before keyed hashes (a known answer)."""
    entry = AuditEntry(
        chain="281000",
        seq=1,
        municipality_id=7,
        kind="event",
        action="case.update",
        actor_id=3,
        actor_label="田中一郎",
        object_type="surveillance.case",
        object_id="42",
        ip="192.0.2.1",
        data={"n": 1, "名前": "値"},
        created_at=datetime.datetime(2026, 4, 1, 9, 0, 0, 123456, tzinfo=datetime.UTC),
        prev_hash=GENESIS_HASH,
    )
    assert entry.key_id == ""
    assert entry_hash(entry) == "3080128965ee19993a4576db56f4396c22e6b4e5e48f037b9c91bfa4387e2dc0"


def test_legacy_entries_and_keyed_entries_after_them_verify(kobe: Municipality) -> None:
    """A chain begun before the upgrade continues with keyed entries; verify counts the legacy."""
    first = legacy_entry(kobe, "case.create")
    legacy_entry(kobe, "case.update")
    keyed = audit_event(municipality=kobe, action="case.close", actor=ACTOR)

    assert (keyed.seq, keyed.key_id) == (3, "dev")
    assert keyed.prev_hash == AuditEntry.objects.get(chain="281000", seq=2).hash
    assert first.hash == plain_sha256(first)
    assert verify() == ("chain 281000: ok (3 entries, 2 of them hashed without a key)\n", None)


def test_a_changed_legacy_entry_is_still_detected(kobe: Municipality) -> None:
    """Legacy entries are checked against their SHA-256 like keyed ones against their HMAC."""
    target = legacy_entry(kobe, "case.create")
    audit_event(municipality=kobe, action="case.close", actor=ACTOR)
    from tests.audit.test_attacks import sql

    sql("UPDATE audit_auditentry SET action = %s WHERE id = %s", ["case.delete", target.pk])

    output, error = verify()
    assert error == "1 of 1 chain(s) failed verification"
    assert output == (
        f"chain 281000: BROKEN at entry #1 (id {target.pk}): "
        "content does not match its hash (the entry was altered)\n"
    )


# --- rotation ----------------------------------------------------------------------------------


def test_after_a_rotation_old_entries_verify_under_their_key(
    kobe: Municipality, settings: Any
) -> None:
    """New entries take the newest key; entries under the older one still verify."""
    settings.AUDIT_HASH_KEYS = (OLD,)
    for n in range(2):
        audit_event(municipality=kobe, action="case.update", actor=ACTOR, data={"n": n})
    settings.AUDIT_HASH_KEYS = (OLD, NEW)
    for n in range(2):
        audit_event(municipality=kobe, action="case.update", actor=ACTOR, data={"n": n})

    key_ids = list(AuditEntry.objects.filter(chain="281000").values_list("key_id", flat=True))
    assert key_ids == ["2025a", "2025a", "2026a", "2026a"]
    assert verify() == ("chain 281000: ok (4 entries)\n", None)


def test_an_entry_whose_key_was_removed_is_named(kobe: Municipality, settings: Any) -> None:
    """Dropping a key that entries still use makes verify fail and say which key is missing."""
    settings.AUDIT_HASH_KEYS = (OLD,)
    first = audit_event(municipality=kobe, action="case.update", actor=ACTOR)
    settings.AUDIT_HASH_KEYS = (NEW,)
    audit_event(municipality=kobe, action="case.update", actor=ACTOR)

    output, error = verify()

    assert error == "1 of 1 chain(s) failed verification"
    assert output == (
        f"chain 281000: BROKEN at entry #1 (id {first.pk}): hashed with key id '2025a', which"
        " MADOGUCHI_AUDIT_KEYS does not hold (add the key back to verify it)\n"
    )


def test_an_entry_checked_under_another_key_does_not_verify(
    kobe: Municipality, settings: Any
) -> None:
    """A different secret under the same id fails: the key, not only its id, is checked."""
    settings.AUDIT_HASH_KEYS = (OLD,)
    entry = audit_event(municipality=kobe, action="case.update", actor=ACTOR)
    settings.AUDIT_HASH_KEYS = (AuditKey("2025a", b"x" * 32),)

    output, error = verify()

    assert error == "1 of 1 chain(s) failed verification"
    assert output == (
        f"chain 281000: BROKEN at entry #1 (id {entry.pk}): "
        "content does not match its hash (the entry was altered)\n"
    )


# --- cost on the hot path ----------------------------------------------------------------------


def test_appending_an_entry_costs_six_queries_inside_a_transaction(
    kobe: Municipality, django_assert_num_queries: Any
) -> None:
    """Keyed hashing adds no query; sealing in the writer's transaction adds none either.

    Inside the test's transaction: savepoint, lock the head, look for entries left unsealed,
    insert the new entry sealed, move the head, release: six (before batch sealing: savepoint,
    get-or-create and lock the head, insert, move the head, release: six as well).
    """
    audit_event(municipality=kobe, action="case.create", actor=ACTOR)
    with django_assert_num_queries(6), override_settings(AUDIT_SEAL="in-transaction"):
        entry = audit_event(municipality=kobe, action="case.update", actor=ACTOR)
    assert entry.is_sealed
    assert AuditEntry.objects.get(pk=entry.pk).hash == entry.hash


# --- the key variables -------------------------------------------------------------------------


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode()


@pytest.mark.parametrize(
    ("entries", "message"),
    [
        ([], "at least one key is required"),
        (["nokey"], "entry 1 must look like ID:BASE64KEY"),
        ([f"bad id:{_b64(b'k' * 32)}"], "entry 1: key id 'bad id' must be 1-16 letters"),
        ([f"a:{_b64(b'short')}"], "key 'a': must decode to 32 bytes, got 5"),
        (["a:@@@@"], "key 'a': not valid base64"),
        ([f"a:{_b64(b'k' * 32)}", f"a:{_b64(b'j' * 32)}"], "entry 2: key id 'a' is listed twice"),
    ],
)
def test_malformed_audit_keys_are_refused_with_a_reason(entries: list[str], message: str) -> None:
    with pytest.raises(KeyConfigError) as caught:
        parse_audit_keys(entries)
    assert str(caught.value).startswith(message)


def test_audit_keys_parse_oldest_first() -> None:
    keys = parse_audit_keys([f"2025a:{_b64(b'o' * 32)}", f"2026a:{_b64(b'n' * 32)}"])
    assert keys == (OLD, NEW)


def test_production_refuses_to_start_without_audit_keys(tmp_path: Path) -> None:
    env = {k: v for k, v in PRODUCTION_ENV.items() if k != "MADOGUCHI_AUDIT_KEYS"}
    result = run_madoguchi("check", env=env, tmp_path=tmp_path)
    assert result.returncode != 0
    assert (
        "MADOGUCHI_ENV=production needs MADOGUCHI_AUDIT_KEYS set to a key of its own"
    ) in result.stderr


def test_production_refuses_the_development_audit_key(tmp_path: Path) -> None:
    """The published development key is refused even when set explicitly, under any id."""
    dev = "mine:ZGV2ZWxvcG1lbnQtb25seS1hdWRpdC1obWFjLWtleSE"
    env = {
        **PRODUCTION_ENV,
        "MADOGUCHI_AUDIT_KEYS": f"{PRODUCTION_ENV['MADOGUCHI_AUDIT_KEYS']},{dev}",
    }
    result = run_madoguchi("check", env=env, tmp_path=tmp_path)
    assert result.returncode != 0
    assert "the development key is public" in result.stderr


def test_production_needs_a_checkpoint_key_when_checkpoints_are_written(tmp_path: Path) -> None:
    env = {**PRODUCTION_ENV, "MADOGUCHI_AUDIT_CHECKPOINT_DIR": str(tmp_path / "cp")}
    result = run_madoguchi("check", env=env, tmp_path=tmp_path)
    assert result.returncode != 0
    assert (
        "MADOGUCHI_ENV=production needs MADOGUCHI_AUDIT_CHECKPOINT_KEY set to a key of its own"
        " when audit checkpoints are written"
    ) in result.stderr
    dev = "dev:ZGV2ZWxvcG1lbnQtb25seS1jaGVja3BvaW50LWtleSE"
    result = run_madoguchi(
        "check", env={**env, "MADOGUCHI_AUDIT_CHECKPOINT_KEY": dev}, tmp_path=tmp_path
    )
    assert result.returncode != 0
    assert "the development key is public" in result.stderr
    own = f"2026a:{_b64(b'c' * 32)}"
    result = run_madoguchi(
        "check", env={**env, "MADOGUCHI_AUDIT_CHECKPOINT_KEY": own}, tmp_path=tmp_path
    )
    assert result.returncode == 0, result.stderr


def test_a_malformed_audit_key_is_named_at_start(tmp_path: Path) -> None:
    result = run_madoguchi(
        "check",
        env={"MADOGUCHI_ENV": "development", "MADOGUCHI_AUDIT_KEYS": "x:c2hvcnQ"},
        tmp_path=tmp_path,
    )
    assert result.returncode != 0
    assert "MADOGUCHI_AUDIT_KEYS: key 'x': must decode to 32 bytes, got 5" in result.stderr
