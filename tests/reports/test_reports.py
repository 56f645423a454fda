"""Reports: the photo's EXIF position is used and no EXIF is stored; routing, merge, lists."""

from __future__ import annotations

import io
from decimal import Decimal

import pytest
from PIL import Image

from madoguchi.audit.services import AuditActor
from madoguchi.reports import selectors, services
from madoguchi.reports.errors import ErrorCode, ReportError
from madoguchi.reports.models import (
    LocationSource,
    Report,
    ReportArea,
    ReportCategory,
    ReportPhoto,
    ReportRoute,
    ReportStatus,
)
from madoguchi.tenants.models import Municipality
from tests.isolation import Tenant, snapshot

pytestmark = pytest.mark.django_db
ACTOR = AuditActor(label="test")


def _rational(value: float) -> tuple[float, float, float]:
    degrees = int(value)
    minutes_full = (value - degrees) * 60
    minutes = int(minutes_full)
    return (float(degrees), float(minutes), round((minutes_full - minutes) * 60, 4))


def jpeg_with_exif(latitude: float, longitude: float) -> bytes:
    """A real JPEG whose EXIF holds a GPS position, a camera model, a date and a comment."""
    image = Image.new("RGB", (64, 48), (200, 30, 30))
    exif = Image.Exif()
    exif[0x0110] = "Phone 12"  # Model
    exif[0x0132] = "2026:12:01 10:00:00"  # DateTime
    exif[0x9286] = "my house"  # UserComment
    exif[0x8825] = {
        1: "N" if latitude >= 0 else "S",
        2: _rational(abs(latitude)),
        3: "E" if longitude >= 0 else "W",
        4: _rational(abs(longitude)),
    }
    out = io.BytesIO()
    image.save(out, format="JPEG", exif=exif)
    return out.getvalue()


def _setup(municipality: Municipality, tenant: Tenant) -> tuple[ReportCategory, ReportArea]:
    category = ReportCategory.objects.create(
        municipality=municipality,
        code="road",
        name="道路の損傷",
        department=tenant.departments["citizens"],
    )
    area = ReportArea.objects.create(municipality=municipality, name="中央区")
    return category, area


def test_the_photo_gps_position_is_used_and_no_exif_is_stored(tenant_a: Tenant) -> None:
    _setup(tenant_a.municipality, tenant_a)
    original = jpeg_with_exif(34.690083, 135.195511)  # 神戸市役所
    with Image.open(io.BytesIO(original)) as check:
        assert check.getexif().get_ifd(0x8825)  # the fixture really carries a position
    filed = services.report_file(
        municipality=tenant_a.municipality,
        category_code="road",
        description="歩道のタイルが割れています",
        photos=[original],
        actor=ACTOR,
    )
    report = Report.objects.get(pk=filed.report.pk)
    assert report.location_source == LocationSource.PHOTO
    assert (report.latitude, report.longitude) == (Decimal("34.690083"), Decimal("135.195511"))
    [photo] = ReportPhoto.objects.filter(report=report)
    stored = photo.image.read()
    with Image.open(io.BytesIO(stored)) as image:
        assert dict(image.getexif()) == {}
        assert "exif" not in image.info
        assert image.size == (64, 48)
    for text in (b"Exif", b"Phone 12", b"my house", b"2026:12:01"):
        assert text not in stored


def test_without_a_position_an_address_or_an_area_is_required(tenant_a: Tenant) -> None:
    _category, area = _setup(tenant_a.municipality, tenant_a)
    plain = io.BytesIO()
    Image.new("RGB", (10, 10)).save(plain, format="PNG")
    with pytest.raises(ReportError) as refused:
        services.report_file(
            municipality=tenant_a.municipality,
            category_code="road",
            description="穴",
            photos=[plain.getvalue()],
            actor=ACTOR,
        )
    assert refused.value.code == ErrorCode.LOCATION_REQUIRED
    assert Report.objects.count() == 0
    filed = services.report_file(
        municipality=tenant_a.municipality,
        category_code="road",
        description="穴",
        area_id=area.pk,
        actor=ACTOR,
    )
    assert filed.report.location_source == LocationSource.AREA


def test_a_file_that_is_not_a_picture_is_refused(tenant_a: Tenant) -> None:
    _setup(tenant_a.municipality, tenant_a)
    with pytest.raises(ReportError) as refused:
        services.report_file(
            municipality=tenant_a.municipality,
            category_code="road",
            description="穴",
            address="加納町6-5-1",
            photos=[b"%PDF-1.4 not a photo"],
            actor=ACTOR,
        )
    assert refused.value.code == ErrorCode.PHOTO_UNREADABLE
    assert Report.objects.count() == 0


def test_routing_by_category_and_area(tenant_a: Tenant) -> None:
    category, area = _setup(tenant_a.municipality, tenant_a)
    other = ReportArea.objects.create(municipality=tenant_a.municipality, name="北区")
    ReportRoute.objects.create(
        category=category, area=area, department=tenant_a.departments["welfare"]
    )
    routed = services.report_file(
        municipality=tenant_a.municipality,
        category_code="road",
        description="穴",
        area_id=area.pk,
        actor=ACTOR,
    ).report
    default = services.report_file(
        municipality=tenant_a.municipality,
        category_code="road",
        description="穴",
        area_id=other.pk,
        actor=ACTOR,
    ).report
    assert routed.department == tenant_a.departments["welfare"]
    assert default.department == tenant_a.departments["citizens"]


def test_merge_and_the_reporter_follows_the_merged_status(tenant_a: Tenant) -> None:
    _category, area = _setup(tenant_a.municipality, tenant_a)
    first = services.report_file(
        municipality=tenant_a.municipality,
        category_code="road",
        description="穴",
        area_id=area.pk,
        actor=ACTOR,
    )
    second = services.report_file(
        municipality=tenant_a.municipality,
        category_code="road",
        description="同じ穴",
        area_id=area.pk,
        email="resident@example.jp",
        actor=ACTOR,
    )
    hints = selectors.nearby_recent(
        municipality=tenant_a.municipality,
        category_id=first.report.category_id,
        area_id=area.pk,
    )
    assert set(hints) == {first.report, second.report}
    services.report_merge(
        municipality=tenant_a.municipality,
        report_id=second.report.pk,
        into_id=first.report.pk,
        actor=ACTOR,
    )
    services.report_transition(
        municipality=tenant_a.municipality,
        report_id=first.report.pk,
        status=ReportStatus.RESOLVED,
        note="補修しました",
        actor=ACTOR,
    )
    found = services.report_lookup(
        municipality=tenant_a.municipality,
        receipt_text=second.report.receipt_number,
        secret_text=second.secret,
        client="test",
    )
    assert selectors.report_status(report=found) == ("対応済み", "補修しました")
    before = snapshot(Report.objects.all())
    with pytest.raises(ReportError):
        services.report_transition(
            municipality=tenant_a.municipality,
            report_id=second.report.pk,
            status=ReportStatus.IN_PROGRESS,
            actor=ACTOR,
        )
    assert snapshot(Report.objects.all()) == before


def test_the_public_list_has_no_personal_data_and_only_open_reports(tenant_a: Tenant) -> None:
    _setup(tenant_a.municipality, tenant_a)
    services.report_file(
        municipality=tenant_a.municipality,
        category_code="road",
        description="私の家の前の穴（神戸 花子）",
        photos=[jpeg_with_exif(34.690083, 135.195511)],
        email="hanako@example.jp",
        actor=ACTOR,
    )
    [row] = selectors.public_open_reports(municipality=tenant_a.municipality)
    text = repr(row)
    assert "花子" not in text
    assert "hanako" not in text
    assert (row.latitude, row.longitude) == (Decimal("34.690"), Decimal("135.196"))


def test_another_municipality_cannot_see_or_change_reports(
    tenant_a: Tenant, tenant_b: Tenant
) -> None:
    _category, area = _setup(tenant_a.municipality, tenant_a)
    filed = services.report_file(
        municipality=tenant_a.municipality,
        category_code="road",
        description="穴",
        area_id=area.pk,
        actor=ACTOR,
    )
    assert selectors.public_open_reports(municipality=tenant_b.municipality) == []
    assert list(selectors.staff_queue(municipality=tenant_b.municipality, departments=None)) == []
    with pytest.raises(ReportError):
        services.report_lookup(
            municipality=tenant_b.municipality,
            receipt_text=filed.report.receipt_number,
            secret_text=filed.secret,
            client="test",
        )
    before = snapshot(Report.objects.all())
    with pytest.raises(ReportError):
        services.report_transition(
            municipality=tenant_b.municipality,
            report_id=filed.report.pk,
            status=ReportStatus.RESOLVED,
            actor=ACTOR,
        )
    assert snapshot(Report.objects.all()) == before
