"""Tests for key rotation: madoguchi.core.encryption_maintenance and the reencrypt command.

Done when: rotating the encryption key and running the re-encrypt command leaves every value
readable and every ciphertext under the new key id.
"""

from __future__ import annotations

import base64
import datetime
from io import StringIO
from typing import Any

import pytest
from django.core.management import call_command
from django.db import connection
from pytest_django import Settings

from madoguchi.audit.models import PLATFORM_CHAIN, AuditEntry
from madoguchi.audit.sealing import audit_seal
from madoguchi.core.crypto import DecryptionError
from madoguchi.core.encryption_maintenance import ReencryptResult, reencrypt_all
from madoguchi.core.fields import BlindIndexField
from madoguchi.core.keys import FieldKey, parse_field_keys
from tests.fieldcrypto.models import Person

pytestmark = pytest.mark.django_db

STD_1 = base64.b64encode(bytes(range(32))).decode()
STD_2 = base64.b64encode(bytes(range(32, 64))).decode()
K1 = parse_field_keys([f"k1:{STD_1}"])
K1_K2 = parse_field_keys([f"k1:{STD_1}", f"k2:{STD_2}"])
K2 = parse_field_keys([f"k2:{STD_2}"])
ENCRYPTED_COLUMNS = ("mynumber", "birth_date", "health", "note")
RAW_COLUMNS = ("id", *ENCRYPTED_COLUMNS, "mynumber_index")
ROWS = 30

Values = tuple[str | None, datetime.date | None, Any, str | None]


@pytest.fixture(autouse=True)
def _keys(settings: Settings) -> None:
    settings.FIELD_ENCRYPTION_KEYS = K1
    settings.BLIND_INDEX_KEY = bytes(range(64, 96))


def values_for(i: int) -> Values:
    """Row ``i``'s values: a mix of Japanese text, emoji, dates, JSON and None."""
    return (
        None if i % 5 == 0 else f"{100000000000 + i * 7919:012d}",
        None if i % 3 == 0 else datetime.date(1930 + i, 1 + i % 12, 1 + i % 28),
        None if i % 4 == 0 else {"要介護度": i % 6, "メモ": f"訪問{i}回目 🏠", "薬": ["朝", "夜"]},
        None if i % 7 == 0 else f"相談記録 その{i}：窓口で受付（担当 山田）",
    )


@pytest.fixture
def people() -> dict[int, Values]:
    """Thirty people written under k1 only, keyed by primary key; row 0 has no values at all."""
    created = {}
    for i in range(ROWS):
        mynumber, birth_date, health, note = values_for(i)
        person = Person.objects.create(
            name=f"住民{i}", mynumber=mynumber, birth_date=birth_date, health=health, note=note
        )
        created[person.pk] = values_for(i)
    assert values_for(0) == (None, None, None, None)
    return created


def rows_with_values(people: dict[int, Values]) -> int:
    return sum(1 for values in people.values() if any(v is not None for v in values))


def raw_rows() -> dict[int, dict[str, Any]]:
    """Every Person's stored columns, read with SQL around the model."""
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {', '.join(RAW_COLUMNS)} FROM fieldcrypto_person")  # noqa: S608
        return {row[0]: dict(zip(RAW_COLUMNS, row, strict=True)) for row in cursor.fetchall()}


def ciphertexts(rows: dict[int, dict[str, Any]]) -> list[str]:
    return [row[c] for row in rows.values() for c in ENCRYPTED_COLUMNS if row[c] is not None]


def read_all() -> dict[int, Values]:
    return {
        p.pk: (p.mynumber, p.birth_date, p.health, p.note) for p in Person.objects.order_by("pk")
    }


def index_of(value: str) -> str | None:
    field = Person._meta.get_field("mynumber_index")
    assert isinstance(field, BlindIndexField)
    return field.compute(value)


def reencrypt(*args: str) -> list[str]:
    out = StringIO()
    call_command("reencrypt", *args, stdout=out)
    return out.getvalue().splitlines()


def reencrypt_events() -> list[AuditEntry]:
    # Sealed first: on PostgreSQL entries are sealed after commit, which a test never reaches.
    audit_seal(PLATFORM_CHAIN)
    return list(AuditEntry.objects.filter(chain=PLATFORM_CHAIN, action="crypto.reencrypt"))


def test_fixture_rows_are_under_k1(people: dict[int, Values]) -> None:
    """Before rotation every ciphertext is under k1, and None values are NULL."""
    rows = raw_rows()
    assert len(rows) == ROWS
    assert len(ciphertexts(rows)) > 60
    assert all(token.startswith("enc1$k1$") for token in ciphertexts(rows))
    for pk, values in people.items():
        stored = tuple(rows[pk][c] for c in ENCRYPTED_COLUMNS)
        assert [s is None for s in stored] == [v is None for v in values]


def test_rotation_leaves_every_value_readable_under_the_new_key(
    settings: Settings, people: dict[int, Values]
) -> None:
    """The done-when: after adding k2 and re-encrypting, every ciphertext is under k2 and every
    value reads back as it was; NULLs stay NULL and the blind index still finds each row."""
    before = raw_rows()
    settings.FIELD_ENCRYPTION_KEYS = K1_K2
    changed = rows_with_values(people)

    output = reencrypt()

    assert f"fieldcrypto.Person: {changed} of {ROWS} row(s) re-encrypted" in output
    assert output[-1] == f"done: {changed} row(s)"
    after = raw_rows()
    assert sorted(after) == sorted(before)
    tokens = ciphertexts(after)
    assert len(tokens) == len(ciphertexts(before))
    assert [t for t in tokens if not t.startswith("enc1$k2$")] == []
    for pk, row in after.items():
        for column in ENCRYPTED_COLUMNS:
            assert (row[column] is None) == (before[pk][column] is None)
        assert row["mynumber_index"] == before[pk]["mynumber_index"]
    assert read_all() == people
    for pk, (mynumber, *_rest) in people.items():
        if mynumber is not None:
            found = Person.objects.filter(mynumber_index=index_of(mynumber))
            assert list(found.values_list("pk", flat=True)) == [pk]


def test_only_the_new_key_is_needed_afterwards(
    settings: Settings, people: dict[int, Values]
) -> None:
    """Once re-encrypted, k1 can be dropped: with k2 alone everything reads."""
    settings.FIELD_ENCRYPTION_KEYS = K1_K2
    reencrypt()
    settings.FIELD_ENCRYPTION_KEYS = K2
    assert read_all() == people


def test_without_re_encryption_dropping_the_old_key_breaks_reading(
    settings: Settings, people: dict[int, Values]
) -> None:
    """The reverse check: rows still under k1 cannot be read with k2 alone."""
    settings.FIELD_ENCRYPTION_KEYS = K2
    with pytest.raises(DecryptionError) as excinfo:
        read_all()
    assert str(excinfo.value) == "key id 'k1' is not in MADOGUCHI_FIELD_KEYS"


def test_the_old_key_alone_cannot_read_re_encrypted_rows(
    settings: Settings, people: dict[int, Values]
) -> None:
    """After re-encryption a row is under k2, which a k1-only configuration cannot read."""
    settings.FIELD_ENCRYPTION_KEYS = K1_K2
    reencrypt()
    settings.FIELD_ENCRYPTION_KEYS = K1
    pk = next(pk for pk, values in people.items() if values[3] is not None)
    with pytest.raises(DecryptionError) as excinfo:
        Person.objects.get(pk=pk)
    assert str(excinfo.value) == "key id 'k2' is not in MADOGUCHI_FIELD_KEYS"


def test_second_run_rewrites_nothing(settings: Settings, people: dict[int, Values]) -> None:
    """Running again right away finds no stale row and leaves every stored value as it is."""
    settings.FIELD_ENCRYPTION_KEYS = K1_K2
    reencrypt()
    before = raw_rows()

    output = reencrypt()

    assert f"fieldcrypto.Person: 0 of {ROWS} row(s) re-encrypted" in output
    assert output[-1] == "done: 0 row(s)"
    assert raw_rows() == before


def test_dry_run_counts_but_changes_nothing(settings: Settings, people: dict[int, Values]) -> None:
    """--dry-run reports what would change, rewrites no value and writes no audit entry."""
    before = raw_rows()
    settings.FIELD_ENCRYPTION_KEYS = K1_K2
    changed = rows_with_values(people)

    output = reencrypt("--dry-run")

    assert f"fieldcrypto.Person: {changed} of {ROWS} row(s) to re-encrypt" in output
    assert output[-1] == f"done: {changed} row(s)"
    assert raw_rows() == before
    assert reencrypt_events() == []


def test_dry_run_without_a_new_key_counts_nothing(people: dict[int, Values]) -> None:
    """With no rotation every row is already under the newest key."""
    output = reencrypt("--dry-run")
    assert f"fieldcrypto.Person: 0 of {ROWS} row(s) to re-encrypt" in output
    assert output[-1] == "done: 0 row(s)"


def test_small_batches_give_the_same_result(settings: Settings, people: dict[int, Values]) -> None:
    """Batches smaller than the number of rows still reach every row."""
    settings.FIELD_ENCRYPTION_KEYS = K1_K2
    output = reencrypt("--batch-size", "7")
    assert output[-1] == f"done: {rows_with_values(people)} row(s)"
    assert all(token.startswith("enc1$k2$") for token in ciphertexts(raw_rows()))
    assert read_all() == people


def test_only_stale_rows_are_rewritten(settings: Settings, people: dict[int, Values]) -> None:
    """Rows saved after the rotation are skipped; a row with one stale column is rewritten."""
    settings.FIELD_ENCRYPTION_KEYS = K1_K2
    with_values = [pk for pk, values in people.items() if all(v is not None for v in values)]
    resaved, partly_stale = with_values[:3], with_values[3]
    for person in Person.objects.filter(pk__in=resaved):
        person.save()
    # update() re-encrypts mynumber under k2 but leaves note under k1 (and skips the index).
    Person.objects.filter(pk=partly_stale).update(mynumber="999999999999")
    people[partly_stale] = ("999999999999", *people[partly_stale][1:])
    resaved_before = {pk: row for pk, row in raw_rows().items() if pk in resaved}

    results = reencrypt_all()

    person_results = [r for r in results if r.model == "fieldcrypto.Person"]
    assert person_results == [
        ReencryptResult("fieldcrypto.Person", ROWS, rows_with_values(people) - len(resaved))
    ]
    after = raw_rows()
    assert {pk: after[pk] for pk in resaved} == resaved_before
    assert all(token.startswith("enc1$k2$") for token in ciphertexts(after))
    assert read_all() == people
    assert after[partly_stale]["mynumber_index"] == index_of("999999999999")


def test_reencrypt_writes_an_audit_event(settings: Settings, people: dict[int, Values]) -> None:
    """Each run records crypto.reencrypt on the platform chain with the count per model."""
    settings.FIELD_ENCRYPTION_KEYS = K1_K2
    reencrypt()
    reencrypt()

    events = reencrypt_events()
    assert len(events) == 2
    first, second = events
    assert first.municipality_id is None
    assert first.kind == "event"
    assert first.actor_id is None
    assert first.actor_label == "cli:reencrypt"
    assert first.data["fieldcrypto.Person"] == rows_with_values(people)
    assert second.data["fieldcrypto.Person"] == 0
    assert second.seq == first.seq + 1
    assert second.prev_hash == first.hash


def test_no_audit_event_for_a_dry_run(settings: Settings, people: dict[int, Values]) -> None:
    """A dry run is not an operation on the data and leaves the audit chain untouched."""
    settings.FIELD_ENCRYPTION_KEYS = K1_K2
    count = AuditEntry.objects.count()
    reencrypt("--dry-run")
    assert AuditEntry.objects.count() == count


def test_empty_table_reports_zero(settings: Settings) -> None:
    """With no rows the command still finishes and reports zero."""
    settings.FIELD_ENCRYPTION_KEYS = K1_K2
    output = reencrypt()
    assert "fieldcrypto.Person: 0 of 0 row(s) re-encrypted" in output
    assert output[-1] == "done: 0 row(s)"


def test_key_ids_differing_only_in_case_are_distinct(settings: Settings) -> None:
    """Key ids are case-sensitive, so rotating from 'a' to 'A' re-encrypts every row."""
    lower = FieldKey("a", K1[0].secret)
    upper = FieldKey("A", K2[0].secret)
    settings.FIELD_ENCRYPTION_KEYS = (lower,)
    for i in range(1, 6):
        Person.objects.create(name=f"住民{i}", mynumber=values_for(i)[0], note=values_for(i)[3])
    assert all(token.startswith("enc1$a$") for token in ciphertexts(raw_rows()))
    settings.FIELD_ENCRYPTION_KEYS = (lower, upper)

    output = reencrypt()

    assert output[-1] == "done: 5 row(s)"
    assert all(token.startswith("enc1$A$") for token in ciphertexts(raw_rows()))


def test_reencrypt_recomputes_indexes_after_a_blind_index_key_change(
    settings: Settings, people: dict[int, Values]
) -> None:
    """After a new BLIND_INDEX_KEY, `reencrypt --reindex` makes the blind index find rows again."""
    settings.BLIND_INDEX_KEY = bytes(range(96, 128))
    reencrypt("--reindex")
    for pk, (mynumber, *_rest) in people.items():
        if mynumber is not None:
            found = Person.objects.filter(mynumber_index=index_of(mynumber))
            assert list(found.values_list("pk", flat=True)) == [pk]
