"""The public map of open reports: drawn on the server when a tile server is configured, with
a pin per report linked to its row; the list alone otherwise."""

from __future__ import annotations

import re
from decimal import Decimal

import pytest
from django.test import Client
from django.test.utils import override_settings

from madoguchi.reports import services
from madoguchi.reports.map import public_map, tile_origin
from madoguchi.reports.models import ReportCategory
from tests.isolation import Tenant
from tests.reports.test_reports import ACTOR

TILES = "https://tiles.example.jp/{z}/{x}/{y}.png"


def test_the_map_fits_every_position_and_numbers_the_pins() -> None:
    kobe = (Decimal("34.690"), Decimal("135.196"))
    sannomiya = (Decimal("34.695"), Decimal("135.195"))
    drawn = public_map([kobe, (None, None), sannomiya], tile_url=TILES)
    assert drawn is not None
    assert drawn.size == 768
    assert [p.number for p in drawn.pins] == [1, 3]
    for pin in drawn.pins:
        assert 128 <= pin.x <= 640
        assert 128 <= pin.y <= 640
    # 3x3 or 4x4 tiles of one zoom, covering the whole drawing.
    zooms = {t.url.split("/")[3] for t in drawn.tiles}
    assert len(zooms) == 1
    assert 9 <= len(drawn.tiles) <= 16
    assert min(t.x for t in drawn.tiles) <= 0
    assert min(t.y for t in drawn.tiles) <= 0
    assert max(t.x for t in drawn.tiles) + 256 >= 768
    assert public_map([(None, None)], tile_url=TILES) is None


def test_a_tile_url_needs_http_and_its_placeholders() -> None:
    assert tile_origin(TILES) == "https://tiles.example.jp"
    with pytest.raises(ValueError, match="https://"):
        tile_origin("tiles.example.jp/{z}/{x}/{y}.png")
    with pytest.raises(ValueError, match="must contain"):
        tile_origin("https://tiles.example.jp/{z}/{x}.png")


def _open_reports(tenant: Tenant) -> None:
    ReportCategory.objects.create(municipality=tenant.municipality, code="road", name="道路")
    for latitude in ("34.690", "34.700"):
        report = services.report_file(
            municipality=tenant.municipality,
            category_code="road",
            description="穴",
            address="三宮",
            actor=ACTOR,
        ).report
        report.latitude, report.longitude = Decimal(latitude), Decimal("135.195")
        report.save()


@pytest.mark.django_db
def test_the_list_shows_the_map_only_when_a_tile_server_is_configured(tenant_a: Tenant) -> None:
    _open_reports(tenant_a)
    page = Client().get(tenant_a.url("reports/")).content.decode()
    assert 'id="report-map"' not in page
    assert 'id="report-1"' in page  # the list is there either way
    with override_settings(
        REPORTS_MAP_TILE_URL=TILES, REPORTS_MAP_ATTRIBUTION="地図: テストタイル"
    ):
        page = Client().get(tenant_a.url("reports/")).content.decode()
    assert 'id="report-map"' in page
    assert len(re.findall(r'<image href="https://tiles\.example\.jp/\d+/\d+/\d+\.png"', page)) >= 9
    assert '<a href="#report-1"><circle' in page
    assert '<a href="#report-2"><circle' in page
    assert "地図: テストタイル" in page
    assert "<script" not in page.split('id="report-map"')[1].split("</figure>")[0]
