from typing import Any

from django.db import migrations, models


def mark_existing_versions_published(apps: Any, schema_editor: Any) -> None:
    # Before the console existed every version was published the moment it was stored.
    version = apps.get_model("procedures", "ProcedureVersion")
    version.objects.filter(published_at__isnull=True).update(published_at=models.F("created_at"))


class Migration(migrations.Migration):
    dependencies = [
        ("procedures", "0003_application_idempotency_fingerprint"),
    ]

    operations = [
        migrations.AddField(
            model_name="procedureversion",
            name="published_at",
            field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.AddField(
            model_name="procedureversion",
            name="source",
            field=models.TextField(blank=True),
        ),
        migrations.RunPython(mark_existing_versions_published, migrations.RunPython.noop),
    ]
