"""Tests for madoguchi.core.fields on the test-only model tests.fieldcrypto.models.Person."""

from __future__ import annotations

import base64
import datetime
from typing import Any

import pytest
from django.core.exceptions import FieldError
from django.db import connection, transaction
from pytest_django import Settings

from madoguchi.core.crypto import DecryptionError, blind_index, keyring
from madoguchi.core.fields import BlindIndexField, EncryptedField
from madoguchi.core.keys import parse_field_keys
from tests.fieldcrypto.models import Person

pytestmark = pytest.mark.django_db

SECRET_1 = bytes(range(32))
SECRET_2 = bytes(range(32, 64))
INDEX_SECRET = bytes(range(64, 96))
RAW_COLUMNS = ("mynumber", "mynumber_index", "birth_date", "health", "note")

HEALTH = {
    "アレルギー": ["卵", "そば"],
    "血液型": "A",
    "要介護度": 2,
    "服薬": None,
    "メモ": "夜間は🚑を呼ぶ",
    "ok": True,
}


@pytest.fixture(autouse=True)
def _keys(settings: Settings) -> None:
    settings.FIELD_ENCRYPTION_KEYS = parse_field_keys([f"k1:{base64.b64encode(SECRET_1).decode()}"])
    settings.BLIND_INDEX_KEY = INDEX_SECRET


@pytest.fixture
def without_workaround() -> None:
    """Requested by a test that must see the encrypted fields exactly as src defines them."""


def raw_row(pk: int) -> dict[str, Any]:
    """The stored column values of one Person, read around the model."""
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT {', '.join(RAW_COLUMNS)} FROM fieldcrypto_person WHERE id = %s",  # noqa: S608
            [pk],
        )
        row = cursor.fetchone()
    assert row is not None
    return dict(zip(RAW_COLUMNS, row, strict=True))


def index_of(value: str | None) -> str | None:
    field = Person._meta.get_field("mynumber_index")
    assert isinstance(field, BlindIndexField)
    return field.compute(value)


# --- round trips --------------------------------------------------------------------------------


def test_encrypted_values_can_be_saved(without_workaround: None) -> None:
    """Saving a Person with every kind of encrypted value works and reads back."""
    person = Person.objects.create(
        name="山田",
        mynumber="123456789018",
        birth_date=datetime.date(1990, 4, 1),
        health=HEALTH,
        note="メモ",
    )
    loaded = Person.objects.get(pk=person.pk)
    assert (loaded.mynumber, loaded.birth_date, loaded.health, loaded.note) == (
        "123456789018",
        datetime.date(1990, 4, 1),
        HEALTH,
        "メモ",
    )


@pytest.mark.parametrize(
    ("mynumber", "birth_date", "health", "note"),
    [
        ("123456789018", datetime.date(1990, 4, 1), HEALTH, "山田 太郎（やまだ たろう）様"),
        (
            "１２３４５６７８９０１８",
            datetime.date(1868, 10, 23),
            ["卵", 1, 2.5],
            "絵文字 🎌🗾👨‍👩‍👧",
        ),
        ("", datetime.date(2019, 5, 1), "文字列だけ", ""),
        ("0", datetime.date(1, 1, 1), 0, "改行\nと\tタブ\r\n、NUL以外の制御文字\x07"),
        (None, None, None, None),
        ("123456789018", None, {"入れ子": {"配列": [[], {}]}}, None),
    ],
)
def test_values_round_trip_through_the_database(
    mynumber: str | None, birth_date: datetime.date | None, health: Any, note: str | None
) -> None:
    """Text, dates and JSON read back equal to what was saved, including None."""
    person = Person.objects.create(
        name="山田", mynumber=mynumber, birth_date=birth_date, health=health, note=note
    )
    loaded = Person.objects.get(pk=person.pk)
    assert loaded.mynumber == mynumber
    assert loaded.birth_date == birth_date
    assert loaded.health == health
    assert loaded.note == note
    assert list(
        Person.objects.filter(pk=person.pk).values_list("mynumber", "birth_date", "health", "note")
    ) == [(mynumber, birth_date, health, note)]


def test_json_is_encrypted_sorted_and_compact() -> None:
    """A JSON value is serialised canonically (sorted keys, no spaces, text kept as UTF-8)."""
    person = Person.objects.create(name="山田", health={"b": 1, "a": ["卵"]})
    plaintext = keyring().decrypt(
        raw_row(person.pk)["health"], associated_data=b"fieldcrypto.person.health"
    )
    assert plaintext == '{"a":["卵"],"b":1}'


def test_date_is_encrypted_as_iso_text() -> None:
    """A date is encrypted as its YYYY-MM-DD form."""
    person = Person.objects.create(name="山田", birth_date=datetime.date(1990, 4, 1))
    plaintext = keyring().decrypt(
        raw_row(person.pk)["birth_date"], associated_data=b"fieldcrypto.person.birth_date"
    )
    assert plaintext == "1990-04-01"


def test_saving_again_keeps_values_readable() -> None:
    """A row read and saved again is re-encrypted under a new nonce and still reads back."""
    person = Person.objects.create(name="山田", mynumber="123456789018", note="メモ")
    before = raw_row(person.pk)
    loaded = Person.objects.get(pk=person.pk)
    loaded.save()
    after = raw_row(person.pk)
    assert after["mynumber"] != before["mynumber"]
    assert after["mynumber_index"] == before["mynumber_index"]
    reloaded = Person.objects.get(pk=person.pk)
    assert (reloaded.mynumber, reloaded.note) == ("123456789018", "メモ")


# --- what the database holds ------------------------------------------------------------------


def test_raw_columns_hold_no_plaintext() -> None:
    """Every encrypted column holds an enc1$k1$ token that contains none of the plaintext."""
    person = Person.objects.create(
        name="山田",
        mynumber="123456789018",
        birth_date=datetime.date(1990, 4, 1),
        health=HEALTH,
        note="山田 太郎 生活保護受給中",
    )
    raw = raw_row(person.pk)
    for column in ("mynumber", "birth_date", "health", "note"):
        assert isinstance(raw[column], str)
        assert raw[column].startswith("enc1$k1$")
    assert "123456789018" not in raw["mynumber"]
    assert "1990" not in raw["birth_date"]
    for plaintext in ("アレルギー", "卵", "血液型", "🚑"):
        assert plaintext not in raw["health"]
    for plaintext in ("山田", "生活保護"):
        assert plaintext not in raw["note"]
    assert raw["mynumber_index"] == blind_index(
        "123456789018", purpose="fieldcrypto.person.mynumber"
    )
    assert "123456789018" not in raw["mynumber_index"]


def test_none_is_stored_as_null() -> None:
    """None is not encrypted: the column is NULL, and so is the blind index."""
    person = Person.objects.create(name="山田")
    assert raw_row(person.pk) == dict.fromkeys(RAW_COLUMNS)


def test_empty_text_is_encrypted_but_not_indexed() -> None:
    """An empty string is stored encrypted (distinct from NULL) and gets no blind index."""
    person = Person.objects.create(name="山田", mynumber="")
    raw = raw_row(person.pk)
    assert raw["mynumber"].startswith("enc1$k1$")
    assert raw["mynumber_index"] is None


def test_associated_data_names_model_and_column() -> None:
    """The associated data is '<app>.<model>.<field>', binding each value to its column."""
    field = Person._meta.get_field("note")
    assert isinstance(field, EncryptedField)
    assert field.associated_data() == b"fieldcrypto.person.note"


def test_ciphertext_copied_into_another_column_does_not_decrypt() -> None:
    """A note's ciphertext pasted into mynumber with SQL fails to read instead of leaking."""
    person = Person.objects.create(name="山田", mynumber="123456789018", note="999999999999")
    with connection.cursor() as cursor:
        cursor.execute("UPDATE fieldcrypto_person SET mynumber = note WHERE id = %s", [person.pk])
    assert raw_row(person.pk)["mynumber"] == raw_row(person.pk)["note"]
    with pytest.raises(DecryptionError) as excinfo:
        Person.objects.get(pk=person.pk)
    assert str(excinfo.value) == "ciphertext failed authentication"
    assert Person.objects.values_list("note", flat=True).get(pk=person.pk) == "999999999999"


def test_plaintext_written_around_the_field_fails_to_read() -> None:
    """A value written in clear with SQL is refused on reading rather than returned."""
    person = Person.objects.create(name="山田")
    with connection.cursor() as cursor:
        cursor.execute("UPDATE fieldcrypto_person SET note = %s WHERE id = %s", ["平文", person.pk])
    with pytest.raises(DecryptionError) as excinfo:
        Person.objects.get(pk=person.pk)
    assert str(excinfo.value) == "not an encrypted value"


# --- lookups ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("lookup", "value", "name"),
    [
        ("mynumber", "123456789018", "exact"),
        ("mynumber__exact", "123456789018", "exact"),
        ("mynumber__iexact", "123456789018", "iexact"),
        ("mynumber__in", ["123456789018"], "in"),
        ("mynumber__contains", "1234", "contains"),
        ("mynumber__startswith", "enc1$", "startswith"),
        ("note__icontains", "山田", "icontains"),
        ("birth_date__gt", datetime.date(2000, 1, 1), "gt"),
        ("health__contains", {"血液型": "A"}, "contains"),
    ],
)
def test_filtering_on_an_encrypted_field_is_refused(lookup: str, value: Any, name: str) -> None:
    """Any lookup other than isnull raises FieldError pointing to the blind index."""
    Person.objects.create(name="山田", mynumber="123456789018")
    field = lookup.split("__")[0]
    message = f"{field} is encrypted and cannot be searched with '{name}'; use its blind index"
    with pytest.raises(FieldError) as excinfo:
        Person.objects.filter(**{lookup: value})
    assert str(excinfo.value) == message
    with pytest.raises(FieldError) as excinfo:
        Person.objects.exclude(**{lookup: value})
    assert str(excinfo.value) == message


def test_isnull_works_on_encrypted_fields() -> None:
    """isnull is answered by the database without decrypting anything."""
    with_number = Person.objects.create(name="有", mynumber="123456789018")
    without = Person.objects.create(name="無", note="メモ")
    assert list(Person.objects.filter(mynumber__isnull=True)) == [without]
    assert list(Person.objects.filter(mynumber__isnull=False)) == [with_number]
    assert list(Person.objects.filter(note__isnull=False)) == [without]
    assert Person.objects.filter(birth_date__isnull=True).count() == 2


def test_blind_index_finds_the_row() -> None:
    """Exact search goes through the blind index, which finds the one matching row."""
    wanted = Person.objects.create(name="山田", mynumber="123456789018")
    Person.objects.create(name="佐藤", mynumber="123456789026")
    Person.objects.create(name="鈴木")
    found = Person.objects.filter(mynumber_index=index_of("123456789018"))
    assert list(found) == [wanted]
    assert found.get().mynumber == "123456789018"
    assert not Person.objects.filter(mynumber_index=index_of("999999999999")).exists()


@pytest.mark.parametrize(
    "typed",
    [
        "１２３４５６７８９０１８",
        "1234 5678 9018",
        "1234-5678-9018",
        "１２３４　５６７８　９０１８",
    ],
)
def test_blind_index_normalises_digits(typed: str) -> None:
    """全角 digits, spaces and hyphens index like the plain 12 digits, on search and on save."""
    assert index_of(typed) == index_of("123456789018")
    stored = Person.objects.create(name="山田", mynumber=typed)
    assert list(Person.objects.filter(mynumber_index=index_of("123456789018"))) == [stored]
    assert Person.objects.get(pk=stored.pk).mynumber == typed


def test_blind_index_is_the_hmac_of_the_normalised_value() -> None:
    """The index uses purpose '<app>.<model>.<source>' when none is given."""
    field = Person._meta.get_field("mynumber_index")
    assert isinstance(field, BlindIndexField)
    assert field.index_purpose() == "fieldcrypto.person.mynumber"
    assert field.compute("１２３４ ５６７８") == blind_index(
        "12345678", purpose="fieldcrypto.person.mynumber"
    )


@pytest.mark.parametrize("value", [None, ""])
def test_blind_index_of_nothing_is_none(value: str | None) -> None:
    """No value, no index, so empty values never match each other in a search."""
    assert index_of(value) is None


def test_blind_index_follows_changes_on_save() -> None:
    """Changing or clearing the indexed value updates the index on the next save."""
    person = Person.objects.create(name="山田", mynumber="123456789018")
    person.mynumber = "123456789026"
    person.save()
    assert raw_row(person.pk)["mynumber_index"] == index_of("123456789026")
    assert not Person.objects.filter(mynumber_index=index_of("123456789018")).exists()
    person.mynumber = None
    person.save()
    assert raw_row(person.pk)["mynumber_index"] is None


def test_blind_index_is_kept_on_bulk_create() -> None:
    """bulk_create runs pre_save too, so its rows are searchable."""
    Person.objects.bulk_create(
        [Person(name="山田", mynumber="123456789018"), Person(name="佐藤", mynumber=None)]
    )
    assert list(
        Person.objects.filter(mynumber_index=index_of("123456789018")).values_list(
            "name", flat=True
        )
    ) == ["山田"]


def test_blind_index_field_deconstructs_with_its_options() -> None:
    """Migrations keep source, normalizer and purpose, and the defaults it sets."""
    field = Person._meta.get_field("mynumber_index")
    assert isinstance(field, BlindIndexField)
    _, path, args, kwargs = field.deconstruct()
    assert path == "madoguchi.core.fields.BlindIndexField"
    assert args == []
    assert kwargs == {
        "source": "mynumber",
        "normalizer": "madoguchi.core.japanese.normalize_digits",
        "purpose": "",
        "max_length": 64,
        "editable": False,
        "null": True,
        "db_index": True,
    }


# --- refused values -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("birth_date", "1990-04-01", "birth_date needs a date, got str"),
        ("birth_date", 19900401, "birth_date needs a date, got int"),
        ("health", {"set": {1, 2}}, "Object of type set is not JSON serializable"),
        ("health", datetime.date(1990, 4, 1), "Object of type date is not JSON serializable"),
    ],
)
def test_unserialisable_values_are_refused_and_nothing_is_stored(
    field: str, value: Any, message: str
) -> None:
    """A value the field cannot represent raises TypeError and no row is written."""
    person = Person(name="山田", **{field: value})
    with pytest.raises(TypeError) as excinfo, transaction.atomic():
        person.save()
    assert str(excinfo.value) == message
    assert Person.objects.count() == 0


def test_failed_update_changes_nothing() -> None:
    """Refusing a bad value on update leaves the stored row as it was."""
    person = Person.objects.create(name="山田", birth_date=datetime.date(1990, 4, 1))
    before = raw_row(person.pk)
    person.birth_date = "1991-01-01"
    person.name = "佐藤"
    with pytest.raises(TypeError), transaction.atomic():
        person.save()
    assert raw_row(person.pk) == before
    assert Person.objects.get(pk=person.pk).name == "山田"


def test_datetime_in_date_field_is_refused() -> None:
    """A datetime is refused like any non-date, instead of writing a value that cannot be read."""
    person = Person(name="山田", birth_date=datetime.datetime(1990, 4, 1, 9, 30))
    with pytest.raises(TypeError) as excinfo, transaction.atomic():
        person.save()
    assert str(excinfo.value) == "birth_date needs a date, got datetime"
    assert Person.objects.count() == 0


def test_reading_with_another_key_set_fails_naming_the_key(settings: Settings) -> None:
    """A row written under a key that is no longer configured fails, naming that key id."""
    person = Person.objects.create(name="山田", note="メモ")
    settings.FIELD_ENCRYPTION_KEYS = parse_field_keys([f"k2:{base64.b64encode(SECRET_2).decode()}"])
    with pytest.raises(DecryptionError) as excinfo:
        Person.objects.get(pk=person.pk)
    assert str(excinfo.value) == "key id 'k1' is not in MADOGUCHI_FIELD_KEYS"
    assert Person.objects.values_list("name", flat=True).get(pk=person.pk) == "山田"
