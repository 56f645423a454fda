# Entries are now inserted unsealed (no sequence number, no hash) and sealed into their chain in
# batches after the writer's commit. Entries written before this migration were sealed when
# they were written: they get sealed_at = created_at.

from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('audit', '0002_audit_entry_key_id'),
    ]

    operations = [
        migrations.AlterModelOptions(
            name='auditentry',
            options={'ordering': ['chain', 'id'], 'verbose_name': '監査ログ', 'verbose_name_plural': '監査ログ'},
        ),
        migrations.AlterField(
            model_name='auditentry',
            name='seq',
            field=models.PositiveBigIntegerField(null=True),
        ),
        migrations.AddField(
            model_name='auditentry',
            name='sealed_at',
            field=models.DateTimeField(null=True),
        ),
        migrations.RunSQL(
            'UPDATE audit_auditentry SET sealed_at = created_at WHERE sealed_at IS NULL',
            migrations.RunSQL.noop,
        ),
        migrations.AddIndex(
            model_name='auditentry',
            index=models.Index(condition=models.Q(('sealed_at__isnull', True)), fields=['chain', 'id'], name='audit_unsealed_idx'),
        ),
    ]
