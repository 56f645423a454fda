"""Encrypt a booking's name, phone and birth date (docs/security.md), converting existing rows.

The columns first become plain text (a date column keeps its ISO text), then every stored value
is encrypted in place with the associated data the model's encrypted fields use, then the fields
become encrypted fields (the same text column). Reversible: the reverse step decrypts.
"""

from typing import Any

from django.db import connection as default_connection
from django.db import migrations, models

import madoguchi.core.fields
from madoguchi.core.crypto import PREFIX, keyring

COLUMNS = ("name", "phone", "birth_date")
TABLE = "reservations_booking"


def _is_encrypted(value: str) -> bool:
    return value.startswith(f"{PREFIX}$")


def _convert(schema_editor: Any, *, encrypt: bool) -> None:
    connection = schema_editor.connection if schema_editor is not None else default_connection
    ring = keyring()
    quote = connection.ops.quote_name
    columns = ", ".join(quote(c) for c in COLUMNS)
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT id, {columns} FROM {quote(TABLE)} ORDER BY id")  # noqa: S608
        rows = cursor.fetchall()
        for pk, *values in rows:
            changed = {}
            for column, value in zip(COLUMNS, values, strict=True):
                if value is None:
                    continue
                text = str(value)
                data = f"reservations.booking.{column}".encode()
                if encrypt and not _is_encrypted(text):
                    changed[column] = ring.encrypt(text, associated_data=data)
                elif not encrypt and _is_encrypted(text):
                    changed[column] = ring.decrypt(text, associated_data=data)
            if changed:
                assignments = ", ".join(f"{quote(c)} = %s" for c in changed)
                cursor.execute(
                    f"UPDATE {quote(TABLE)} SET {assignments} WHERE id = %s",  # noqa: S608
                    [*changed.values(), pk],
                )


def encrypt_rows(apps: Any, schema_editor: Any) -> None:
    _convert(schema_editor, encrypt=True)


def decrypt_rows(apps: Any, schema_editor: Any) -> None:
    _convert(schema_editor, encrypt=False)


class Migration(migrations.Migration):
    dependencies = [
        ("reservations", "0001_resources_slots_bookings"),
    ]

    operations = [
        migrations.AlterField(
            model_name="booking", name="name", field=models.TextField()
        ),
        migrations.AlterField(
            model_name="booking", name="phone", field=models.TextField(blank=True, default="")
        ),
        migrations.AlterField(
            model_name="booking", name="birth_date", field=models.TextField(blank=True, null=True)
        ),
        migrations.RunPython(encrypt_rows, decrypt_rows),
        migrations.AlterField(
            model_name="booking",
            name="birth_date",
            field=madoguchi.core.fields.EncryptedDateField(blank=True, null=True),
        ),
        migrations.AlterField(
            model_name="booking",
            name="name",
            field=madoguchi.core.fields.EncryptedTextField(),
        ),
        migrations.AlterField(
            model_name="booking",
            name="phone",
            field=madoguchi.core.fields.EncryptedTextField(blank=True, default=""),
        ),
    ]
