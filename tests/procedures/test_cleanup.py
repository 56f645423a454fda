"""Expired drafts and uploads nobody used are deleted, with their files."""

from __future__ import annotations

import datetime
import io
from pathlib import Path

from django.conf import settings
from django.core.management import call_command
from django.utils import timezone

from madoguchi.procedures.attachments import attachment_store
from madoguchi.procedures.models import Attachment, Draft
from madoguchi.procedures.selectors import definition_of
from madoguchi.procedures.services import draft_start
from tests.isolation import Tenant
from tests.procedures.conftest import publish

PNG = (
    b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00"
    b"\x1f\x15\xc4\x89\x00\x00\x00\rIDATx\xdac\xfc\xcf\xc0P\x0f\x00\x04\x85\x01\x80\x84\xa9\x8c!"
    b"\x00\x00\x00\x00IEND\xaeB`\x82"
)


def test_expired_drafts_and_their_uploads_go_and_live_ones_stay(tenant_a: Tenant) -> None:
    version = publish(tenant_a.municipality)
    field = definition_of(version).field("id_document")
    assert field is not None
    procedure = version.procedure
    old = draft_start(municipality=tenant_a.municipality, procedure=procedure)
    live = draft_start(municipality=tenant_a.municipality, procedure=procedure)
    old_file, _ = attachment_store(
        municipality=tenant_a.municipality,
        stream=io.BytesIO(PNG),
        original_name="a.png",
        field=field,
        draft=old,
    )
    live_file, _ = attachment_store(
        municipality=tenant_a.municipality,
        stream=io.BytesIO(PNG),
        original_name="b.png",
        field=field,
        draft=live,
    )
    two_days_ago = timezone.now() - datetime.timedelta(days=2)
    Draft.objects.filter(pk=old.pk).update(expires_at=two_days_ago)
    Attachment.objects.update(created_at=two_days_ago)
    old_path = Path(settings.MEDIA_ROOT) / old_file.storage_name

    assert old_path.is_file()
    call_command("procedures", "cleanup")

    assert list(Draft.objects.values_list("pk", flat=True)) == [live.pk]
    assert list(Attachment.objects.values_list("pk", flat=True)) == [live_file.pk]
    assert not old_path.exists()
    assert (Path(settings.MEDIA_ROOT) / live_file.storage_name).is_file()
