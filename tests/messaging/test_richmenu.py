"""The LINE rich menu built from the municipality's switched-on services, uploaded via the SDK."""

from __future__ import annotations

import io
from typing import Any

import pytest
from django.core.management import CommandError, call_command
from PIL import Image

from madoguchi.audit.models import AuditEntry
from madoguchi.messaging.richmenu import rich_menu_tiles
from tests.isolation import Tenant
from tests.messaging.conftest import MessagingApi, setup_city


def test_the_menu_has_a_tile_per_service_and_the_topics_postback(
    city: Tenant, line_api: MessagingApi
) -> None:
    tiles = rich_menu_tiles(municipality=city.municipality)
    assert tiles[-1].label == "お知らせ設定"
    assert tiles[-1].postback == "messaging:menu"
    assert all(t.uri.startswith("http://127.0.0.1:8000/kobe/") for t in tiles[:-1])
    assert len(tiles) <= 6

    call_command("messaging_richmenu", "kobe")

    paths = [r.path for r in line_api.raw]
    menu_id = "richmenu-88c05ef6921ae53f8b58a25f3a65faf7"
    assert paths == [
        "/v2/bot/richmenu",
        f"/v2/bot/richmenu/{menu_id}/content",
        f"/v2/bot/user/all/richmenu/{menu_id}",
    ]
    created = line_api.raw[0].body
    assert created["size"] == {"width": 2500, "height": 1686}
    assert [a["action"]["label"] for a in created["areas"]] == [t.label for t in tiles]
    assert created["areas"][-1]["action"] == {
        "type": "postback",
        "label": "お知らせ設定",
        "data": "messaging:menu",
        "displayText": "お知らせ設定",
    }
    upload = line_api.raw[1]
    assert upload.headers["content-type"] == "image/png"
    assert upload.headers["authorization"] == "Bearer token-kobe"
    assert Image.open(io.BytesIO(upload.body)).size == (2500, 1686)
    assert AuditEntry.objects.filter(
        action="messaging.rich_menu_upload", object_id=menu_id
    ).exists()


def test_without_a_line_channel_the_command_refuses_in_japanese(
    tenant_b: Tenant, line_api: MessagingApi
) -> None:
    setup_city(tenant_b.municipality, with_line=False)
    with pytest.raises(CommandError, match="LINE公式アカウントが設定されていません。"):
        call_command("messaging_richmenu", "sayo")
    assert line_api.raw == []


def test_a_municipality_without_topics_gets_no_topics_tile(tenant_a: Tenant, line_api: Any) -> None:
    assert all(t.postback == "" for t in rich_menu_tiles(municipality=tenant_a.municipality))


def test_a_municipality_with_bookable_resources_gets_the_booking_postback_tile(
    city: Tenant, line_api: MessagingApi
) -> None:
    """The tile 予約 opens booking on LINE; an inactive resource alone does not add it."""
    from tests.reservations.conftest import resource_new

    hidden = resource_new(city.municipality, active=False)
    assert all(
        t.postback != "reservations:menu" for t in rich_menu_tiles(municipality=city.municipality)
    )
    hidden.active = True
    hidden.save()

    tiles = rich_menu_tiles(municipality=city.municipality)

    assert [(t.label, t.postback) for t in tiles[-2:]] == [
        ("予約", "reservations:menu"),
        ("お知らせ設定", "messaging:menu"),
    ]
    assert len(tiles) <= 6
    call_command("messaging_richmenu", "kobe")
    areas = line_api.raw[0].body["areas"]
    assert areas[-2]["action"] == {
        "type": "postback",
        "label": "予約",
        "data": "reservations:menu",
        "displayText": "予約",
    }
