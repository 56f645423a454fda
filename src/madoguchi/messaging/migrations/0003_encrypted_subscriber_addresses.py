"""Subscribers' addresses (e-mail addresses, LINE user ids) stored encrypted.

Existing rows are encrypted in place and given their lookup digest, which replaces the
plain address in the uniqueness rule. Going back decrypts them again.
"""

from typing import Any

from django.db import migrations, models

import madoguchi.core.fields

_CHUNK = 500


def encrypt_addresses(apps: Any, schema_editor: Any) -> None:
    from madoguchi.core.crypto import keyring
    from madoguchi.messaging.models.subscriptions import address_digest

    subscriber = apps.get_model("messaging", "Subscriber")
    ring = keyring()
    batch: list[Any] = []
    for row in subscriber.objects.only("pk", "address").order_by("pk").iterator(chunk_size=_CHUNK):
        row.address_ciphertext = ring.encrypt(
            row.address, associated_data=b"messaging.subscriber.address"
        )
        row.address_digest = address_digest(row.address)
        batch.append(row)
        if len(batch) >= _CHUNK:
            subscriber.objects.bulk_update(batch, ["address_ciphertext", "address_digest"])
            batch = []
    if batch:
        subscriber.objects.bulk_update(batch, ["address_ciphertext", "address_digest"])


def decrypt_addresses(apps: Any, schema_editor: Any) -> None:
    from madoguchi.core.crypto import keyring

    subscriber = apps.get_model("messaging", "Subscriber")
    ring = keyring()
    for row in subscriber.objects.only("pk", "address_ciphertext").iterator(chunk_size=_CHUNK):
        row.address = ring.decrypt(
            row.address_ciphertext, associated_data=b"messaging.subscriber.address"
        )
        row.save(update_fields=["address"])


class Migration(migrations.Migration):
    dependencies = [
        ("messaging", "0002_notices"),
    ]

    operations = [
        migrations.RemoveConstraint(model_name="subscriber", name="messaging_subscriber_once"),
        migrations.AddField(
            model_name="subscriber",
            name="address_ciphertext",
            field=models.TextField(null=True),
        ),
        migrations.AddField(
            model_name="subscriber",
            name="address_digest",
            field=models.CharField(max_length=64, null=True),
        ),
        # A default only so that going back can re-add the plain column before filling it.
        migrations.AlterField(
            model_name="subscriber",
            name="address",
            field=models.CharField(max_length=254, default=""),
        ),
        migrations.RunPython(encrypt_addresses, decrypt_addresses),
        migrations.RemoveField(model_name="subscriber", name="address"),
        migrations.RenameField(
            model_name="subscriber", old_name="address_ciphertext", new_name="address"
        ),
        migrations.AlterField(
            model_name="subscriber",
            name="address",
            field=madoguchi.core.fields.EncryptedTextField(),
        ),
        migrations.AlterField(
            model_name="subscriber",
            name="address_digest",
            field=madoguchi.core.fields.BlindIndexField(
                db_index=True,
                editable=False,
                max_length=64,
                normalizer="madoguchi.messaging.models.subscriptions.address_normalize",
                null=True,
                purpose="messaging.subscriber_address",
                source="address",
            ),
        ),
        migrations.AddConstraint(
            model_name="subscriber",
            constraint=models.UniqueConstraint(
                fields=("municipality", "channel", "address_digest"),
                name="messaging_subscriber_once",
            ),
        ),
    ]
