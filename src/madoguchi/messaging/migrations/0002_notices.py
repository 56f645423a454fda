
import django.db.models.deletion
import madoguchi.core.fields
import uuid
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('messaging', '0001_topics_subscriptions_sends'),
        ('tenants', '0003_contact_points'),
    ]

    operations = [
        migrations.CreateModel(
            name='Notice',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('kind', models.CharField(max_length=40)),
                ('channel', models.CharField(choices=[('email', 'メール'), ('line', 'LINE')], max_length=10)),
                ('language', models.CharField(default='ja', max_length=5)),
                ('recipient', madoguchi.core.fields.EncryptedTextField()),
                ('subject', madoguchi.core.fields.EncryptedTextField(blank=True, default='')),
                ('body', madoguchi.core.fields.EncryptedTextField()),
                ('actions', madoguchi.core.fields.EncryptedJSONField(blank=True, null=True)),
                ('dedupe_key', models.CharField(blank=True, max_length=120, null=True)),
                ('retry_key', models.UUIDField(default=uuid.uuid4)),
                ('state', models.CharField(choices=[('queued', '待機中'), ('sending', '送信中'), ('sent', '送信済み'), ('failed', '失敗')], default='queued', max_length=10)),
                ('attempts', models.PositiveIntegerField(default=0)),
                ('next_attempt_at', models.DateTimeField()),
                ('claimed_until', models.DateTimeField(blank=True, null=True)),
                ('reason', models.CharField(blank=True, max_length=500)),
                ('created_at', models.DateTimeField(auto_now_add=True)),
                ('sent_at', models.DateTimeField(blank=True, null=True)),
            ],
            options={
                'ordering': ['-created_at', '-pk'],
            },
        ),
        migrations.CreateModel(
            name='NoticeTemplate',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('kind', models.CharField(max_length=40)),
                ('subject_ja', models.CharField(blank=True, max_length=200, verbose_name='件名')),
                ('body_ja', models.TextField(blank=True, verbose_name='本文')),
                ('subject_en', models.CharField(blank=True, max_length=200, verbose_name='件名（英語）')),
                ('body_en', models.TextField(blank=True, verbose_name='本文（英語）')),
                ('updated_at', models.DateTimeField(auto_now=True)),
            ],
        ),
        migrations.AddField(
            model_name='notice',
            name='municipality',
            field=models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='+', to='tenants.municipality'),
        ),
        migrations.AddField(
            model_name='noticetemplate',
            name='municipality',
            field=models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='+', to='tenants.municipality'),
        ),
        migrations.AddIndex(
            model_name='notice',
            index=models.Index(fields=['state', 'next_attempt_at'], name='messaging_n_state_4aed6d_idx'),
        ),
        migrations.AddIndex(
            model_name='notice',
            index=models.Index(fields=['municipality', 'created_at'], name='messaging_n_municip_3635ea_idx'),
        ),
        migrations.AddConstraint(
            model_name='notice',
            constraint=models.UniqueConstraint(fields=('municipality', 'dedupe_key'), name='messaging_notice_once'),
        ),
        migrations.AddConstraint(
            model_name='noticetemplate',
            constraint=models.UniqueConstraint(fields=('municipality', 'kind'), name='messaging_notice_template_kind'),
        ),
    ]
