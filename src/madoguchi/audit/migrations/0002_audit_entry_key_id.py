# Entries written before this migration keep an empty key id: their hash is a plain SHA-256
# and still verifies; new entries are hashed with HMAC-SHA256 under MADOGUCHI_AUDIT_KEYS.

from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('audit', '0001_initial'),
    ]

    operations = [
        migrations.AddField(
            model_name='auditentry',
            name='key_id',
            field=models.CharField(blank=True, default='', max_length=16),
        ),
    ]
