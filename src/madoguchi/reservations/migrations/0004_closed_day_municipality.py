"""Closed days carry their municipality, and a closed day without a resource closes every
resource of the municipality. Existing rows take their resource's municipality."""

from typing import Any

import django.db.models.deletion
from django.db import migrations, models


def _fill_municipality(apps: Any, schema_editor: Any) -> None:
    ClosedDay = apps.get_model("reservations", "ClosedDay")
    for closed in ClosedDay.objects.select_related("resource"):
        closed.municipality_id = closed.resource.municipality_id
        closed.save(update_fields=["municipality"])


class Migration(migrations.Migration):

    dependencies = [
        ('reservations', '0003_line_booking'),
        ('tenants', '0003_contact_points'),
    ]

    operations = [
        migrations.AlterModelOptions(
            name='closedday',
            options={'ordering': ['day']},
        ),
        migrations.RemoveConstraint(
            model_name='closedday',
            name='closed_day_unique',
        ),
        migrations.AddField(
            model_name='closedday',
            name='municipality',
            field=models.ForeignKey(null=True, on_delete=django.db.models.deletion.CASCADE, to='tenants.municipality'),
        ),
        migrations.RunPython(_fill_municipality, migrations.RunPython.noop),
        migrations.AlterField(
            model_name='closedday',
            name='municipality',
            field=models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, to='tenants.municipality'),
        ),
        migrations.AlterField(
            model_name='closedday',
            name='resource',
            field=models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.CASCADE, related_name='closed_days', to='reservations.resource'),
        ),
        migrations.AddConstraint(
            model_name='closedday',
            constraint=models.UniqueConstraint(condition=models.Q(('resource__isnull', False)), fields=('resource', 'day'), name='closed_day_unique'),
        ),
        migrations.AddConstraint(
            model_name='closedday',
            constraint=models.UniqueConstraint(condition=models.Q(('resource__isnull', True)), fields=('municipality', 'day'), name='closed_day_municipality_unique'),
        ),
    ]
