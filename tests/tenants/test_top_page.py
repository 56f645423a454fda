"""The municipality's top page lists the public services it has switched on, from its data."""

from __future__ import annotations

import re

from django.test import Client

from madoguchi.audit.services import AuditActor
from madoguchi.consultation.services import FaqData, faq_entry_save, line_channel_save
from madoguchi.tenants.contacts import ContactInput, contact_point_save
from tests.isolation import Tenant
from tests.opendata.conftest import import_file, kobe_row, make_csv
from tests.procedures.conftest import publish

ACTOR = AuditActor(label="test")


def _services(tenant: Tenant) -> list[str]:
    body = Client().get(tenant.url("")).content.decode()
    return re.findall(r'data-service="([^"]+)"', body)


def test_a_municipality_with_nothing_switched_on_says_so(tenant_a: Tenant) -> None:
    body = Client().get(tenant_a.url("")).content.decode()
    assert _services(tenant_a) == []
    assert "オンラインで利用できるサービスは、まだありません。" in body
    assert "準備中です。" not in body


def test_each_service_appears_when_its_data_exists(tenant_a: Tenant, tenant_b: Tenant) -> None:
    publish(tenant_a.municipality)
    assert _services(tenant_a) == ["procedures", "status"]
    faq_entry_save(
        municipality=tenant_a.municipality,
        data=FaqData(
            code="gomi", category="ごみ", question="粗大ごみは", answer="申込みが必要です"
        ),
        actor=ACTOR,
    )
    assert _services(tenant_a) == ["procedures", "status", "chat"]
    line_channel_save(
        municipality=tenant_a.municipality,
        channel_secret="secret",
        access_token="token",
        basic_id="@123abcde",
        actor=ACTOR,
    )
    assert _services(tenant_a) == ["procedures", "status", "chat", "line"]
    import_file(tenant_a.municipality, make_csv([kobe_row("2020-04-01", "12")]))
    assert _services(tenant_a) == [
        "procedures",
        "status",
        "chat",
        "line",
        "dashboard",
        "opendata-catalogue",
    ]
    body = Client().get(tenant_a.url("")).content.decode()
    for path in ("procedures/", "status/", "chat/", "chat/line/", "dashboard/", "dashboard/data/"):
        assert f'href="{tenant_a.url(path)}"' in body
    # The other municipality switched nothing on.
    assert _services(tenant_b) == []


def test_the_line_page_gives_the_friend_link_and_its_qr_code(tenant_a: Tenant) -> None:
    assert Client().get(tenant_a.url("chat/line/")).status_code == 404
    line_channel_save(
        municipality=tenant_a.municipality,
        channel_secret="secret",
        access_token="token",
        actor=ACTOR,
    )
    # A channel without a basic ID gives residents nothing to add.
    assert Client().get(tenant_a.url("chat/line/")).status_code == 404
    assert "line" not in _services(tenant_a)
    line_channel_save(
        municipality=tenant_a.municipality,
        channel_secret="secret",
        access_token="token",
        basic_id="@123abcde",
        actor=ACTOR,
    )
    page = Client().get(tenant_a.url("chat/line/")).content.decode()
    assert 'href="https://line.me/R/ti/p/%40123abcde"' in page
    assert "<svg" in page


def test_a_bad_basic_id_is_named_in_japanese_and_nothing_is_stored(tenant_a: Tenant) -> None:
    response = tenant_a.client("admin").post(
        tenant_a.url("chat/staff/line/"),
        {"channel_secret": "s", "access_token": "t", "basic_id": "123 abc"},
    )
    assert response.status_code == 400
    assert "ベーシックIDは @123abcde のように" in response.content.decode()
    assert "line" not in _services(tenant_a)


def test_the_top_page_shows_the_main_contact_point_only_when_set(tenant_a: Tenant) -> None:
    assert "お問い合わせ" not in Client().get(tenant_a.url("")).content.decode()
    contact_point_save(
        municipality=tenant_a.municipality,
        key="main",
        data=ContactInput(name="神戸市役所 代表", phone="078-555-0100", note="デモ用の番号です"),
        actor=ACTOR,
    )
    body = Client().get(tenant_a.url("")).content.decode()
    assert "お問い合わせ" in body
    assert '<a href="tel:078-555-0100">078-555-0100</a>' in body
    assert "デモ用の番号です" in body
