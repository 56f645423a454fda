"""The audit log pages of a municipality: browsing, filtering, CSV export and isolation."""

from __future__ import annotations

import csv
import datetime
import io
import re
from collections.abc import Callable
from types import SimpleNamespace
from zoneinfo import ZoneInfo

import pytest
from django.http import HttpResponse
from django.test import Client

from madoguchi.audit.models import AuditEntry, EntryKind
from madoguchi.audit.selectors import audit_entries_for_municipality
from madoguchi.audit.services import AuditActor, audit_access, audit_event
from madoguchi.tenants.models import Municipality
from tests.isolation import Tenant, assert_cannot_read, snapshot

JST = ZoneInfo("Asia/Tokyo")
LOG = "/kobe/staff/audit/"
EXPORT = "/kobe/staff/audit/export.csv"
FORBIDDEN = "このページを表示する権限がありません"
CSV_HEADER = [
    "seq",
    "日時",
    "種別",
    "操作",
    "操作者",
    "部署",
    "対象の種類",
    "対象のID",
    "目的",
    "IPアドレス",
    "hash",
]
# The isolation kit writes 7 entries to each municipality's chain: 2 departments, 5 memberships.
KIT_ENTRIES = 7

Record = Callable[..., AuditEntry]


@pytest.fixture
def record(monkeypatch: pytest.MonkeyPatch) -> Record:
    """Append an entry as if it happened at ``at`` (JST), through the real audit service."""

    def _record(
        municipality: Municipality,
        action: str,
        *,
        actor: str,
        at: datetime.datetime,
        kind: str = EntryKind.EVENT,
    ) -> AuditEntry:
        clock = SimpleNamespace(now=lambda: at)
        with monkeypatch.context() as patch:
            patch.setattr("madoguchi.audit.services.timezone", clock)
            who = AuditActor(label=actor, ip="192.0.2.7")
            if kind == EntryKind.ACCESS:
                return audit_access(
                    municipality=municipality, actor=who, purpose="本人確認", object_id="42"
                )
            return audit_event(municipality=municipality, action=action, actor=who)

    return _record


def jst(day: int, hour: int, minute: int = 0) -> datetime.datetime:
    return datetime.datetime(2026, 4, day, hour, minute, tzinfo=JST)


@pytest.fixture
def kobe_entries(tenant_a: Tenant, record: Record) -> None:
    """Five entries after the kit's seven: seqs 8..12."""
    kobe = tenant_a.municipality
    record(kobe, "auth.login", actor="kobe-admin", at=jst(1, 9))  # 8
    record(kobe, "view", actor="kobe-clerk", at=jst(1, 23, 30), kind=EntryKind.ACCESS)  # 9
    record(kobe, "auth.logout", actor="kobe-admin", at=jst(2, 0, 30))  # 10
    record(kobe, "case.update", actor="田中一郎", at=jst(3, 10))  # 11
    record(kobe, "view", actor="田中一郎", at=jst(4, 10), kind=EntryKind.ACCESS)  # 12


SAYO_SECRETS = ["case.sayo_only_action", "佐用町職員・山田花子"]


@pytest.fixture
def sayo_entries(tenant_b: Tenant, record: Record) -> list[str]:
    """佐用町 entries whose texts must never appear in 神戸市's pages; returns those texts."""
    record(tenant_b.municipality, SAYO_SECRETS[0], actor=SAYO_SECRETS[1], at=jst(2, 12))
    hashes = AuditEntry.objects.filter(chain="285013").values_list("hash", flat=True)
    return [*SAYO_SECRETS, "sayo-admin", "sayo-clerk", *hashes]


def seqs_shown(response: HttpResponse) -> list[int]:
    """The seq column of the log table, top to bottom."""
    page = response.content.decode()
    return [int(n) for n in re.findall(r'<td class="num">(\d+)</td>', page)]


# --- browsing --------------------------------------------------------------------------------


@pytest.mark.usefixtures("kobe_entries")
def test_the_admin_sees_the_log_newest_first(tenant_a: Tenant) -> None:
    """神戸市's admin sees every entry of its chain, newest first, with its texts."""
    response = tenant_a.client("admin").get(LOG)
    page = response.content.decode()

    assert response.status_code == 200
    assert seqs_shown(response) == list(range(12, 0, -1))
    assert "12 件" in page
    assert "<td>auth.logout</td>" in page
    assert "<td>田中一郎</td>" in page
    assert "<td>本人確認</td>" in page


@pytest.mark.usefixtures("kobe_entries")
@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("kind=access", [12, 9]),
        ("kind=event&action=auth.", [10, 8]),
        ("action=case.", [11]),
        ("actor=田中", [12, 11]),
        ("actor=KOBE-ADMIN", [10, 8]),
        ("date_from=2026-04-02&date_to=2026-04-03", [11, 10]),
        ("date_to=2026-04-01", [9, 8]),
        ("date_from=2026-04-04", [12, *range(KIT_ENTRIES, 0, -1)]),
        ("kind=access&date_from=2026-04-02&date_to=2026-04-30", [12]),
    ],
)
def test_filters_narrow_the_rows_shown(tenant_a: Tenant, query: str, expected: list[int]) -> None:
    """Days are Japanese days: 00:30 on 4/2 JST (15:30 UTC on 4/1) belongs to 4/2."""
    response = tenant_a.client("admin").get(f"{LOG}?{query}")
    assert response.status_code == 200
    assert seqs_shown(response) == expected


def test_the_log_is_paginated_by_50_keeping_the_filters(tenant_a: Tenant, record: Record) -> None:
    """50 rows a page; the page links keep the filter in the query string."""
    for n in range(55):
        record(tenant_a.municipality, "case.bulk", actor="batch", at=jst(5, 9, n))
    client = tenant_a.client("admin")

    first = client.get(f"{LOG}?action=case.")
    second = client.get(f"{LOG}?action=case.&page=2")

    assert seqs_shown(first) == list(range(62, 12, -1))
    assert seqs_shown(second) == list(range(12, 7, -1))
    assert "1 / 2 ページ" in first.content.decode()
    assert 'href="?action=case.&amp;page=2"' in first.content.decode()
    assert 'href="?action=case.&amp;page=1"' in second.content.decode()
    assert seqs_shown(client.get(LOG)) == list(range(62, 12, -1))
    assert seqs_shown(client.get(f"{LOG}?page=2")) == list(range(12, 0, -1))


@pytest.mark.usefixtures("kobe_entries")
def test_a_reversed_date_range_shows_a_japanese_error(tenant_a: Tenant) -> None:
    """An end date before the start date is explained in Japanese, and no rows are listed."""
    response = tenant_a.client("admin").get(f"{LOG}?date_from=2026-04-03&date_to=2026-04-01")
    assert response.status_code == 400
    assert "終わりの日付は始まりの日付より後にしてください。" in response.content.decode()
    assert seqs_shown(response) == []


@pytest.mark.parametrize("url", [LOG, EXPORT])
@pytest.mark.parametrize("role", ["supervisor", "clerk", "viewer", "clerk-other"])
def test_only_the_municipality_admin_may_open_the_log(
    tenant_a: Tenant, role: str, url: str
) -> None:
    """Other roles get the Japanese 403 page, and a refused export records nothing."""
    before = snapshot(AuditEntry.objects.all())
    response = tenant_a.client(role).get(url)
    assert response.status_code == 403
    assert FORBIDDEN in response.content.decode()
    assert snapshot(AuditEntry.objects.all()) == before


def test_a_script_typed_as_a_username_is_shown_as_text(tenant_a: Tenant) -> None:
    """Failed sign-ins put attacker-chosen text into the log; the page escapes it."""
    Client().post(
        "/kobe/staff/login/", {"username": '<script>alert("x")</script>', "password": "x"}
    )

    page = tenant_a.client("admin").get(LOG).content.decode()

    assert "<td>&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;</td>" in page
    assert '<script>alert("x")' not in page


# --- CSV export ------------------------------------------------------------------------------


def csv_rows(response: HttpResponse) -> list[list[str]]:
    body = response.content
    assert body.startswith(b"\xef\xbb\xbf"), "no UTF-8 BOM"
    return list(csv.reader(io.StringIO(body.decode("utf-8-sig"))))


def test_the_export_is_utf8_csv_of_this_municipality_only(
    tenant_a: Tenant, sayo_entries: list[str]
) -> None:
    """BOM, exact header, one row per 神戸市 entry (the export's own entry first)."""
    response = tenant_a.client("admin").get(EXPORT)

    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert re.fullmatch(
        r'attachment; filename="audit-281000-\d{8}-\d{6}\.csv"', response["Content-Disposition"]
    )
    rows = csv_rows(response)
    assert rows[0] == CSV_HEADER
    assert [int(row[0]) for row in rows[1:]] == list(range(KIT_ENTRIES + 1, 0, -1))
    kobe_hashes = set(AuditEntry.objects.filter(chain="281000").values_list("hash", flat=True))
    assert {row[10] for row in rows[1:]} == kobe_hashes
    body = response.content.decode("utf-8-sig")
    for text in sayo_entries:
        assert text not in body
    export_row = rows[1]
    assert export_row[2:6] == ["event", "audit.export", "kobe-admin", ""]
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+09:00", export_row[1])


def test_the_export_records_an_audit_event_with_its_filters(tenant_a: Tenant) -> None:
    """Downloading the log is itself logged, with the filters used."""
    tenant_a.client("admin").get(f"{EXPORT}?action=membership.&kind=event")

    export = AuditEntry.objects.get(action="audit.export")
    assert (export.chain, export.seq, export.actor_label) == (
        "281000",
        KIT_ENTRIES + 1,
        "kobe-admin",
    )
    assert export.data == {"action": "membership.", "kind": "event"}


def test_the_export_applies_the_filters(tenant_a: Tenant) -> None:
    """The export contains only the rows the same filters show on the page."""
    response = tenant_a.client("admin").get(f"{EXPORT}?action=department.")
    rows = csv_rows(response)
    assert [(row[0], row[3]) for row in rows[1:]] == [
        ("2", "department.create"),
        ("1", "department.create"),
    ]


@pytest.mark.parametrize(
    "query", ["date_from=2026-04-03&date_to=2026-04-01", "date_from=2026-13-01", "kind=secret"]
)
def test_an_export_with_invalid_filters_is_refused(tenant_a: Tenant, query: str) -> None:
    """A mistyped filter never widens the download to the whole log; nothing is recorded."""
    before = snapshot(AuditEntry.objects.all())
    response = tenant_a.client("admin").get(f"{EXPORT}?{query}")
    assert response.status_code == 400
    assert response["Content-Type"] == "text/html; charset=utf-8"
    assert "入力内容を確認してください" in response.content.decode()
    assert snapshot(AuditEntry.objects.all()) == before


def test_a_formula_typed_as_a_username_is_neutralised_in_the_export(tenant_a: Tenant) -> None:
    """Anyone can type a username at the sign-in page; it reaches the CSV as text, not a formula."""
    formula = '=HYPERLINK("https://evil.example/","詳細")'
    Client().post("/kobe/staff/login/", {"username": formula, "password": "x"})
    failed = AuditEntry.objects.get(action="auth.login_failed")
    assert failed.actor_label == formula

    rows = csv_rows(tenant_a.client("admin").get(EXPORT))

    [row] = [r for r in rows[1:] if r[0] == str(failed.seq)]
    assert row[4] == "'" + formula
    assert not any(cell.startswith(("=", "+", "-", "@")) for r in rows[1:] for cell in r)


# --- isolation -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "url",
    [
        "/sayo/staff/",
        "/sayo/staff/audit/",
        "/sayo/staff/audit/export.csv",
        "/sayo/staff/audit/?kind=",
    ],
)
def test_kobe_admin_cannot_read_sayo_pages(
    tenant_a: Tenant, sayo_entries: list[str], url: str
) -> None:
    """403 without any of 佐用町's log texts, and nothing is written to either log."""
    client = tenant_a.client("admin")
    before = snapshot(AuditEntry.objects.all())
    assert_cannot_read(client, url, must_not_contain=sayo_entries)
    response = client.get(url)
    assert response.status_code == 403
    assert FORBIDDEN in response.content.decode()
    assert snapshot(AuditEntry.objects.all()) == before


def test_filters_cannot_reach_another_municipality(
    tenant_a: Tenant, sayo_entries: list[str]
) -> None:
    """Searching 神戸市's log for 佐用町's texts finds nothing."""
    client = tenant_a.client("admin")
    for query in ["actor=sayo", "actor=山田", "action=case.sayo"]:
        response = client.get(f"{LOG}?{query}")
        assert seqs_shown(response) == [], query
        body = response.content.decode()
        assert all(text not in body for text in sayo_entries[:2] + sayo_entries[4:])


@pytest.mark.usefixtures("kobe_entries")
def test_the_selector_never_returns_another_municipalitys_entries(
    tenant_a: Tenant, tenant_b: Tenant, sayo_entries: list[str]
) -> None:
    """audit_entries_for_municipality reads only the given municipality's chain."""
    sayo_ids = set(AuditEntry.objects.filter(chain="285013").values_list("pk", flat=True))
    assert len(sayo_ids) == KIT_ENTRIES + 1

    entries = audit_entries_for_municipality(municipality=tenant_a.municipality)

    assert [e.seq for e in entries] == list(range(12, 0, -1))
    assert {e.chain for e in entries} == {"281000"}
    assert {e.municipality_id for e in entries} == {tenant_a.municipality.pk}
    assert not sayo_ids & {e.pk for e in entries}
    assert not audit_entries_for_municipality(
        municipality=tenant_a.municipality, actor="佐用町"
    ).exists()
    assert not audit_entries_for_municipality(
        municipality=tenant_a.municipality, action=SAYO_SECRETS[0]
    ).exists()
