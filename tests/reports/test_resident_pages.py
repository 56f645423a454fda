"""Resident report pages: filing with a photo, hints, receipt, status, public list, bad input."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from PIL import Image

from madoguchi.audit.models import AuditEntry
from madoguchi.reports.models import (
    Report,
    ReportArea,
    ReportCategory,
    ReportPhoto,
    ReportStatus,
)
from tests.isolation import Tenant, assert_cannot_read
from tests.reports.test_reports import jpeg_with_exif

pytestmark = pytest.mark.django_db


def _setup(tenant: Tenant) -> tuple[ReportCategory, ReportArea]:
    category = ReportCategory.objects.create(
        municipality=tenant.municipality,
        code="road",
        name="道路の損傷",
        department=tenant.departments["welfare"],
    )
    return category, ReportArea.objects.create(municipality=tenant.municipality, name="中央区")


def test_file_with_a_gps_photo_then_follow_it_by_receipt(tenant_a: Tenant) -> None:
    _setup(tenant_a)
    client = Client()
    home = client.get(tenant_a.url(""))
    assert tenant_a.url("reports/new/") in home.content.decode()
    photo = SimpleUploadedFile("p.jpg", jpeg_with_exif(35.681236, 139.767125), "image/jpeg")
    filed = client.post(
        tenant_a.url("reports/new/"),
        {"category": "road", "description": "歩道に穴", "photos": [photo], "action": "file"},
    )
    assert filed.status_code == 201
    report = Report.objects.get(municipality=tenant_a.municipality)
    assert report.location_source == "photo"
    assert report.photos.count() == 1
    secret = filed.context["secret"]
    looked = client.post(
        tenant_a.url("reports/status/"),
        {"receipt_number": report.receipt_number, "secret": secret},
    )
    assert looked.status_code == 200
    assert "受付" in looked.context["status_label"]
    public = client.get(tenant_a.url("reports/")).content.decode()
    assert "35.681" in public
    assert "35.681236" not in public
    assert "歩道に穴" not in public


def test_bad_input_gets_japanese_messages_and_keeps_what_was_entered(tenant_a: Tenant) -> None:
    _setup(tenant_a)
    client = Client()
    url = tenant_a.url("reports/new/")
    missing = client.post(url, {"description": "街灯が切れている", "action": "file"})
    assert missing.status_code == 400
    assert "困りごとの種類を選んでください。" in missing.content.decode()
    assert "街灯が切れている" in missing.content.decode()
    no_place = client.post(url, {"category": "road", "description": "街灯", "action": "file"})
    assert no_place.status_code == 400
    assert "場所が分かりません" in no_place.content.decode()
    bad_photo = SimpleUploadedFile("p.jpg", b"not a picture", "image/jpeg")
    refused = client.post(
        url,
        {"category": "road", "description": "穴", "address": "本町1", "photos": [bad_photo]},
    )
    assert refused.status_code == 400
    assert "写真を読み取れませんでした" in refused.content.decode()
    assert "本町1" in refused.content.decode()
    big = SimpleUploadedFile("p.jpg", b"\xff" * (10 * 1024 * 1024 + 1), "image/jpeg")
    too_big = client.post(
        url, {"category": "road", "description": "穴", "address": "本町1", "photos": [big]}
    )
    assert too_big.status_code == 400
    assert "写真が大きすぎます" in too_big.content.decode()
    assert not Report.objects.exists()
    wrong = client.post(
        tenant_a.url("reports/status/"), {"receipt_number": "123-4567", "secret": "x"}
    )
    assert wrong.status_code == 400
    assert "受付番号または確認コードが違います" in wrong.content.decode()
    empty = client.post(tenant_a.url("reports/status/"), {})
    assert empty.status_code == 400
    assert "受付番号を入力してください。" in empty.content.decode()


def test_nearby_hint_after_choosing_the_area(tenant_a: Tenant) -> None:
    category, area = _setup(tenant_a)
    client = Client()
    url = tenant_a.url("reports/new/")
    data = {"category": "road", "area": str(area.pk), "description": "穴", "action": "check"}
    none = client.post(url, data)
    assert none.context["hints"] == 0
    assert "穴" in none.content.decode()
    client.post(url, {**data, "action": "file"})
    assert Report.objects.filter(status=ReportStatus.RECEIVED).count() == 1
    hinted = client.post(url, data)
    assert hinted.context["hints"] == 1
    assert not Report.objects.filter(municipality=tenant_a.municipality, category=category)[1:]


def test_other_municipality_pages_do_not_know_the_report(
    tenant_a: Tenant, tenant_b: Tenant
) -> None:
    _setup(tenant_a)
    client = Client()
    filed = client.post(
        tenant_a.url("reports/new/"),
        {"category": "road", "description": "穴", "address": "本町1", "action": "file"},
    )
    report = Report.objects.get()
    other = client.post(
        tenant_b.url("reports/status/"),
        {"receipt_number": report.receipt_number, "secret": filed.context["secret"]},
    )
    assert other.status_code == 400
    assert "report" not in (other.context or {})
    assert "本町" not in client.get(tenant_b.url("reports/")).content.decode()


def test_staff_of_the_department_see_the_stripped_photo_and_it_is_audited(
    tenant_a: Tenant, tenant_b: Tenant
) -> None:
    _setup(tenant_a)
    photo = SimpleUploadedFile("p.jpg", jpeg_with_exif(35.681236, 139.767125), "image/jpeg")
    Client().post(
        tenant_a.url("reports/new/"),
        {"category": "road", "description": "穴", "photos": [photo], "action": "file"},
    )
    report = Report.objects.get()
    stored = report.photos.get()
    url = tenant_a.url(f"staff/reports/{report.pk}/photos/{stored.pk}/")
    detail = tenant_a.client("clerk").get(tenant_a.url(f"staff/reports/{report.pk}/"))
    assert url in detail.content.decode()
    seen = tenant_a.client("clerk").get(url)
    assert seen.status_code == 200
    assert seen["Content-Type"] == "image/jpeg"
    with Image.open(io.BytesIO(seen.content)) as image:
        assert not image.getexif()
    assert AuditEntry.objects.filter(
        kind="access", object_type="reports.reportphoto", object_id=str(stored.pk)
    ).exists()
    assert_cannot_read(tenant_a.client("clerk-other"), url)
    assert_cannot_read(tenant_b.client("admin"), url)
    anonymous = Client().get(url)
    assert anonymous.status_code == 302
    assert "login" in anonymous["Location"]


@pytest.mark.parametrize("name", ["../../outside.jpg", "/etc/passwd", "reports/../../x.jpg"])
def test_a_photo_name_altered_in_the_database_is_not_read(tenant_a: Tenant, name: str) -> None:
    _setup(tenant_a)
    photo = SimpleUploadedFile("p.jpg", jpeg_with_exif(35.681236, 139.767125), "image/jpeg")
    Client().post(
        tenant_a.url("reports/new/"),
        {"category": "road", "description": "穴", "photos": [photo], "action": "file"},
    )
    report = Report.objects.get()
    stored = report.photos.get()
    outside = Path(settings.MEDIA_ROOT).parent / "outside.jpg"
    outside.write_bytes(b"secret outside the storage")
    ReportPhoto.objects.filter(pk=stored.pk).update(image=name)

    url = tenant_a.url(f"staff/reports/{report.pk}/photos/{stored.pk}/")
    seen = tenant_a.client("clerk").get(url)

    assert seen.status_code == 404
    assert b"secret" not in seen.content
