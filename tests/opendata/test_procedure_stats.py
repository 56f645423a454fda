"""Procedure statistics as open data: received, completed and open per day, no personal data."""

from __future__ import annotations

import datetime
import re
from zoneinfo import ZoneInfo

import pytest
from django.test import Client

from madoguchi.opendata.exports import export_csv
from madoguchi.opendata.models import ProcedureDailyStat, Publisher
from madoguchi.opendata.services import procedure_stats_refresh
from madoguchi.procedures.catalogue import catalogue_definition
from madoguchi.procedures.models import Application, ProcedureVersion, StateChange
from madoguchi.procedures.selectors import application_daily_counts
from madoguchi.procedures.services import procedure_publish
from tests.isolation import Tenant
from tests.opendata.conftest import ACTOR

JST = ZoneInfo("Asia/Tokyo")
D = datetime.date


def at(day: int, hour: int, minute: int = 0) -> datetime.datetime:
    return datetime.datetime(2026, 4, day, hour, minute, tzinfo=JST)


def publish(tenant: Tenant) -> ProcedureVersion:
    return procedure_publish(
        municipality=tenant.municipality,
        data={**catalogue_definition("juminhyo"), "department": "citizens"},
        actor=ACTOR,
    )


def apply(version: ProcedureVersion, when: datetime.datetime, receipt: str) -> Application:
    """An application row as submission leaves it (answers are not needed here)."""
    application = Application.objects.create(
        municipality=version.municipality,
        procedure=version.procedure,
        version=version,
        department=version.procedure.department,
        receipt_number=receipt,
        secret_hash="-",
        channel="web",
        state="received",
        state_changed_at=when,
        submitted_at=when,
        due_date=when.date(),
        answers={},
    )
    StateChange.objects.create(
        municipality_id=application.municipality_id,
        application=application,
        from_state="",
        to_state="received",
        changed_at=when,
    )
    return application


def move(application: Application, state: str, when: datetime.datetime) -> None:
    StateChange.objects.create(
        municipality_id=application.municipality_id,
        application=application,
        from_state=application.state,
        to_state=state,
        changed_at=when,
    )
    Application.objects.filter(pk=application.pk).update(state=state, state_changed_at=when)
    application.state = state


@pytest.fixture
def applications(tenant_a: Tenant, tenant_b: Tenant) -> None:
    """Three in 神戸市: one sent after a request for more, one refused, one open."""
    version = publish(tenant_a)
    first = apply(version, at(1, 9), "1000000001")
    move(first, "more_info", at(1, 10))  # not final: still open
    move(first, "received", at(2, 9))
    move(first, "sent", at(3, 10))
    second = apply(version, at(1, 23, 30), "1000000002")  # 23:30 JST is still 1 April
    move(second, "rejected", at(2, 0, 30))  # 00:30 JST is 2 April (15:30 UTC on the 1st)
    apply(version, at(2, 0, 30), "1000000003")
    other = apply(publish(tenant_b), at(1, 12), "1000000004")  # 佐用町's: never counted
    move(other, "sent", at(1, 13))


def test_daily_counts_are_per_local_day_and_count_final_states_as_completed(
    tenant_a: Tenant, applications: None
) -> None:
    assert application_daily_counts(municipality=tenant_a.municipality) == [
        ("juminhyo", D(2026, 4, 1), 2, 0),
        ("juminhyo", D(2026, 4, 2), 1, 1),
        ("juminhyo", D(2026, 4, 3), 0, 1),
    ]
    assert application_daily_counts(municipality=tenant_a.municipality, since=D(2026, 4, 2)) == [
        ("juminhyo", D(2026, 4, 2), 1, 1),
        ("juminhyo", D(2026, 4, 3), 0, 1),
    ]


def test_refresh_stores_every_day_to_today_with_the_open_balance(
    tenant_a: Tenant, applications: None
) -> None:
    kobe = tenant_a.municipality
    assert procedure_stats_refresh(municipality=kobe, today=D(2026, 4, 5)) == 5
    rows = ProcedureDailyStat.objects.filter(municipality=kobe).order_by("date")
    assert [(r.date.day, r.received, r.completed, r.open) for r in rows] == [
        (1, 2, 0, 2),
        (2, 1, 1, 2),
        (3, 0, 1, 1),
        (4, 0, 0, 1),
        (5, 0, 0, 1),
    ]
    assert {r.procedure_name for r in rows} == {"住民票の写しの交付請求（郵送）"}


def test_a_second_refresh_changes_nothing_and_a_new_event_bumps_the_version(
    tenant_a: Tenant, applications: None
) -> None:
    kobe = tenant_a.municipality
    procedure_stats_refresh(municipality=kobe, today=D(2026, 4, 5))
    version = Publisher.objects.get(municipality=kobe).version
    assert procedure_stats_refresh(municipality=kobe, today=D(2026, 4, 5)) == 0
    assert Publisher.objects.get(municipality=kobe).version == version

    third = Application.objects.get(receipt_number="1000000003")
    move(third, "sent", at(5, 9))
    assert procedure_stats_refresh(municipality=kobe, today=D(2026, 4, 5)) == 1
    assert Publisher.objects.get(municipality=kobe).version == version + 1


def test_the_export_has_counts_only(tenant_a: Tenant, applications: None) -> None:
    procedure_stats_refresh(municipality=tenant_a.municipality, today=D(2026, 4, 3))
    assert export_csv(tenant_a.municipality, "procedure_stats", bom=False).decode() == (
        "集計_年月日,全国地方公共団体コード,都道府県名,市区町村名,手続_コード,手続_名称,"
        "受付_件数,完了_件数,未完了_件数\r\n"
        "2026-04-01,281000,兵庫県,神戸市,juminhyo,住民票の写しの交付請求（郵送）,2,0,2\r\n"
        "2026-04-02,281000,兵庫県,神戸市,juminhyo,住民票の写しの交付請求（郵送）,1,1,2\r\n"
        "2026-04-03,281000,兵庫県,神戸市,juminhyo,住民票の写しの交付請求（郵送）,0,1,1\r\n"
    )


def test_the_dashboard_card_shows_progress_and_per_procedure_totals(
    tenant_a: Tenant, applications: None
) -> None:
    procedure_stats_refresh(municipality=tenant_a.municipality, today=D(2026, 4, 4))
    page = Client().get("/kobe/dashboard/").content.decode()
    section = re.search(
        r'<section class="chart-card" id="card-procedures".*?</section>', page, re.S
    )
    assert section
    html = section.group(0)
    assert '<svg class="chart" viewBox="0 0 480 260" role="img"' in html
    assert "<dt>受付（累計）</dt><dd>3件</dd>" in html
    assert "<dt>完了（累計）</dt><dd>2件</dd>" in html
    assert "<dt>未完了（2026年4月4日）</dt><dd>1件</dd>" in html
    assert (
        '<tr><th scope="row">住民票の写しの交付請求（郵送）</th><td>3</td><td>2</td><td>1</td></tr>'
    ) in html
    assert "281000_kobe_procedure_stats.csv" in html
    assert "1000000001" not in page  # no receipt numbers, no personal data
