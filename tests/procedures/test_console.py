"""Tests for madoguchi.procedures.console: the staff pages, through the HTTP client.

神戸市 has the 特別定額給付金 in its welfare department (福祉課) and the 転入届 in its citizens
department (市民課). Every page is also tried by 佐用町's staff, who must get nothing.
"""

from __future__ import annotations

import datetime
import html
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.http import FileResponse
from django.test import Client, override_settings
from django.utils import timezone
from pytest_django import DjangoDbBlocker

from madoguchi.audit.models import AuditEntry
from madoguchi.core.crypto import blind_index
from madoguchi.core.japanese import normalize_text
from madoguchi.core.uploads import delete_stored
from madoguchi.procedures.models import Application, Attachment, ProcedureVersion, StateChange
from madoguchi.procedures.services import SubmitResult
from madoguchi.procedures.workflow import application_assign
from tests.isolation import Tenant, assert_cannot_change, assert_cannot_read, make_tenant
from tests.procedures.backoffice_fixtures import (
    CITIZENS,
    PNG,
    WELFARE,
    back_office_state,
    kyufukin_submit,
    last_audit_pk,
    move,
    new_audit,
    publish_catalogue,
    receipts_in,
    shared_database,
    staff_context,
    stored_file,
    todoke_submit,
)
from tests.procedures.conftest import KYUFUKIN

ACCESS_PURPOSE = "申請内容の確認（審査・事務処理）"
QUEUE = "staff/applications/"


@dataclass
class Desk:
    """A day at 神戸市's desks: four cash-benefit applications and one moving-in notice."""

    tenant: Tenant
    other: Tenant  # 佐用町
    kyufukin: ProcedureVersion
    todoke: ProcedureVersion
    taro: SubmitResult  # 神戸 太郎, 受付済, with menkyo.png as identity document
    ichiro: Application  # 須磨 一郎, 審査中, assigned to the clerk
    hanako: Application  # 垂水 花子, 振込済み (closed today)
    late: Application  # 灘 次郎, 受付済, past its due date
    citizen: Application  # 長田 三郎, 転入届 of the citizens department
    document: Attachment

    def by_name(self) -> dict[str, str]:
        return {
            "taro": self.taro.application.receipt_number,
            "ichiro": self.ichiro.receipt_number,
            "hanako": self.hanako.receipt_number,
            "late": self.late.receipt_number,
            "citizen": self.citizen.receipt_number,
        }

    def receipts(self, *names: str) -> set[str]:
        numbers = self.by_name()
        return {numbers[name] for name in names}

    def detail(self, application: Application) -> str:
        return self.tenant.url(f"{QUEUE}{application.receipt_number}/")


@pytest.fixture(scope="module")
def desk(
    django_db_setup: None,
    django_db_blocker: DjangoDbBlocker,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Desk]:
    """Built once for the module; every test runs in a savepoint and changes nothing for the
    next one (pages that act are tried on fresh copies of the rows)."""
    with (
        override_settings(MEDIA_ROOT=tmp_path_factory.mktemp("media")),
        shared_database(django_db_blocker),
    ):
        tenant = make_tenant("281000", "kobe")
        other = make_tenant("285013", "sayo")
        municipality = tenant.municipality
        kyufukin = publish_catalogue(municipality, KYUFUKIN, "welfare")
        todoke = publish_catalogue(municipality, "tennyu-todoke", "citizens")
        admin = staff_context(tenant, "admin")
        document = stored_file(municipality, PNG, "menkyo.png")
        taro = kyufukin_submit(kyufukin, attachment=document)
        ichiro = kyufukin_submit(kyufukin, name="須磨 一郎", name_kana="スマ イチロウ").application
        move(ichiro, "reviewing", staff=admin)
        application_assign(application=ichiro, assignee=tenant.staff["clerk"], staff=admin)
        hanako = kyufukin_submit(kyufukin, name="垂水 花子", name_kana="タルミ ハナコ").application
        move(hanako, "reviewing", "transfer_pending", "paid", staff=admin)
        late = kyufukin_submit(kyufukin, name="灘 次郎", name_kana="ナダ ジロウ").application
        yesterday = timezone.localdate() - datetime.timedelta(days=1)
        Application.objects.filter(pk=late.pk).update(due_date=yesterday)
        citizen = todoke_submit(todoke).application
        for application in (ichiro, hanako, late):
            application.refresh_from_db()
        yield Desk(tenant, other, kyufukin, todoke, taro, ichiro, hanako, late, citizen, document)


@pytest.fixture(autouse=True)
def _savepoint(db: None) -> None:
    """Each test in a savepoint of the module's transaction."""


def listed(client: Client, tenant: Tenant, query: str = "") -> set[str]:
    response = client.get(tenant.url(QUEUE) + (f"?{query}" if query else ""))
    assert response.status_code == 200
    receipts = receipts_in(response.content.decode())
    assert len(receipts) == len(set(receipts))
    return set(receipts)


def text_of(response: Any) -> str:
    return html.unescape(response.content.decode())


# --- the queue -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("role", "query", "expected"),
    [
        ("admin", "", ["taro", "ichiro", "hanako", "late", "citizen"]),
        ("supervisor", "", ["taro", "ichiro", "hanako", "late"]),
        ("clerk-other", "", ["citizen"]),
        ("admin", "state=received", ["taro", "late", "citizen"]),
        ("admin", "state=reviewing", ["ichiro"]),
        ("admin", "state=paid", ["hanako"]),
        ("admin", f"procedure={KYUFUKIN}", ["taro", "ichiro", "hanako", "late"]),
        ("admin", "procedure=tennyu-todoke", ["citizen"]),
        ("admin", "overdue=1", ["late"]),
        ("admin", "open=1", ["taro", "ichiro", "late", "citizen"]),
        ("clerk", "mine=1", ["ichiro"]),
        ("supervisor", "mine=1", []),
        ("admin", "department=citizens", ["citizen"]),
        ("supervisor", "department=citizens", []),
        ("admin", f"state=received&procedure={KYUFUKIN}&open=1", ["taro", "late"]),
    ],
)
def test_the_queue_filters(desk: Desk, role: str, query: str, expected: list[str]) -> None:
    assert listed(desk.tenant.client(role), desk.tenant, query) == desk.receipts(*expected)


def test_an_overdue_application_is_marked_and_a_closed_one_never_is(desk: Desk) -> None:
    Application.objects.filter(pk=desk.hanako.pk).update(due_date=desk.late.due_date)
    response = desk.tenant.client("supervisor").get(desk.tenant.url(QUEUE))
    rows = {
        receipt: row
        for row in re.findall(r"<tr>(.*?)</tr>", response.content.decode(), re.S)
        for receipt in receipts_in(row)
    }
    assert "期限超過" in rows[desk.late.receipt_number]
    assert "期限超過" not in rows[desk.hanako.receipt_number]  # 振込済み, though past its date
    assert listed(desk.tenant.client("admin"), desk.tenant, "overdue=1") == desk.receipts("late")


@pytest.mark.parametrize(
    "term",
    ["ｺｳﾍﾞ", "こうべ", "コウベ", "神戸", "神戸　太郎", "こうべたろう", "ｺｳﾍﾞ ﾀﾛｳ", "タロウ"],
)
def test_a_name_is_found_in_kanji_katakana_hiragana_and_hankaku(desk: Desk, term: str) -> None:
    assert listed(desk.tenant.client("clerk"), desk.tenant, f"q={term}") == desk.receipts("taro")


def test_a_name_search_finds_nobody_else(desk: Desk) -> None:
    client = desk.tenant.client("admin")
    assert listed(client, desk.tenant, "q=すま") == desk.receipts("ichiro")
    assert listed(client, desk.tenant, "q=ナガタ") == desk.receipts("citizen")
    assert listed(client, desk.tenant, "q=大阪") == set()  # addresses are not searched


def test_a_receipt_is_found_by_its_first_digits_in_any_width(desk: Desk) -> None:
    client = desk.tenant.client("admin")
    everyone = set(desk.by_name().values())
    receipt = desk.taro.application.receipt_number
    for length in (3, 6, 10):
        prefix = receipt[:length]
        wanted = {r for r in everyone if r.startswith(prefix)}
        assert desk.taro.application.receipt_number in wanted
        assert listed(client, desk.tenant, f"q={prefix}") == wanted
    zenkaku = receipt[:5].translate(str.maketrans("0123456789", "０１２３４５６７８９"))
    hyphenated = f"{receipt[:5]}-{receipt[5:]}"
    assert listed(client, desk.tenant, f"q={zenkaku}") == {
        r for r in everyone if r.startswith(receipt[:5])
    }
    assert listed(client, desk.tenant, f"q={hyphenated}") == {receipt}


# --- departments ---------------------------------------------------------------------------------


def test_another_department_neither_lists_nor_opens_welfare_applications(desk: Desk) -> None:
    other = desk.tenant.client("clerk-other")
    taro = desk.taro.application
    assert listed(other, desk.tenant, "") == desk.receipts("citizen")
    assert listed(other, desk.tenant, "q=コウベ") == set()
    before = back_office_state(desk.tenant.municipality)
    assert_cannot_read(other, desk.detail(taro), must_not_contain=["コウベ", "神戸 太郎"])
    assert_cannot_read(
        other,
        desk.tenant.url(f"{QUEUE}{taro.receipt_number}/files/{desk.document.pk}/"),
        must_not_contain=["PNG"],
    )
    response = other.get(desk.detail(taro))
    assert response.status_code == 404
    response = other.post(
        desk.detail(taro),
        {"action": "transition", "target": "reviewing", "expected_state": "received"},
    )
    assert response.status_code == 404
    assert back_office_state(desk.tenant.municipality) == before  # not even an access entry
    # The welfare department does not open the citizens' application either.
    assert desk.tenant.client("clerk").get(desk.detail(desk.citizen)).status_code == 404


def test_bulk_with_an_application_of_another_department_changes_nothing(desk: Desk) -> None:
    supervisor = desk.tenant.client("supervisor")
    before = back_office_state(desk.tenant.municipality)
    response = supervisor.post(
        desk.tenant.url(f"{QUEUE}bulk/"),
        {"selected": [desk.taro.application.pk, desk.citizen.pk], "target": "reviewing"},
    )
    assert response.status_code == 302
    assert back_office_state(desk.tenant.municipality) == before
    # The queue it returns to records the names it lists, nothing else.
    followed = supervisor.get(response["Location"])
    assert "選んだ申請の一部が見つかりません。画面を更新してください。" in text_of(followed)


# --- the application page and its access log -----------------------------------------------------


def test_opening_an_application_writes_one_access_the_resident_can_see(desk: Desk) -> None:
    taro = desk.taro.application
    mark = last_audit_pk()

    response = desk.tenant.client("clerk").get(desk.detail(taro))

    assert response.status_code == 200
    page = text_of(response)
    assert '<strong id="application-state">受付済</strong>' in page
    assert "コウベ タロウ" in page
    assert "1 回" in page
    [entry] = new_audit(desk.tenant.municipality, mark)
    assert (
        entry.kind,
        entry.action,
        entry.purpose,
        entry.department_label,
        entry.actor_label,
        entry.object_type,
        entry.object_id,
    ) == (
        "access",
        "view",
        ACCESS_PURPOSE,
        WELFARE,
        "kobe-clerk",
        "procedures.application",
        str(taro.pk),
    )

    resident = Client()
    status = resident.post(
        desk.tenant.url("status/"),
        {"receipt_number": taro.receipt_number, "secret": desk.taro.secret},
    )
    assert status.status_code == 200
    body = text_of(status)
    log = body.split('id="access-log"', 1)[1].split("</table>", 1)[0]
    at = timezone.localtime(entry.created_at)
    when = f'{at.year}年{at.month}月{at.day}日<br><span class="muted">{at:%H:%M}</span>'
    assert re.findall(
        r"<tr><td>(.*?)</td><td>(.*?)</td><td>(.*?)</td><td>(.*?)</td></tr>", log
    ) == [(when, WELFARE, ACCESS_PURPOSE, "1回")]
    assert "kobe-clerk" not in body


def test_an_admin_opening_an_application_is_recorded_under_its_department(desk: Desk) -> None:
    mark = last_audit_pk()
    assert desk.tenant.client("admin").get(desk.detail(desk.citizen)).status_code == 200
    [entry] = new_audit(desk.tenant.municipality, mark)
    assert (entry.kind, entry.department_label, entry.actor_label) == (
        "access",
        CITIZENS,
        "kobe-admin",
    )


def test_downloading_an_attachment_writes_an_access_and_serves_the_bytes(desk: Desk) -> None:
    # Stored now: every test has a MEDIA_ROOT of its own (tests/conftest.py).
    document = stored_file(desk.tenant.municipality, PNG, "hokenshou.png")
    application = kyufukin_submit(
        desk.kyufukin, attachment=document, name="舞子 六郎", name_kana="マイコ ロクロウ"
    ).application
    assert list(application.attachments.values_list("pk", flat=True)) == [document.pk]
    mark = last_audit_pk()

    response = desk.tenant.client("clerk").get(
        desk.tenant.url(f"{QUEUE}{application.receipt_number}/files/{document.pk}/")
    )

    assert response.status_code == 200
    assert isinstance(response, FileResponse)
    assert b"".join(response.streaming_content) == PNG
    assert response["Content-Type"] == "image/png"
    assert response["Content-Disposition"] == "inline"
    assert response["X-Content-Type-Options"] == "nosniff"
    [entry] = new_audit(desk.tenant.municipality, mark)
    assert (entry.kind, entry.action, entry.purpose, entry.department_label, entry.object_id) == (
        "access",
        "view_attachment",
        "添付書類の確認",
        WELFARE,
        str(application.pk),
    )
    page = text_of(desk.tenant.client("clerk").get(desk.detail(application)))
    assert f'/files/{document.pk}/">hokenshou.png</a>（image/png・' in page


@pytest.mark.parametrize(
    "storage_name",
    ["../outside.txt", "attachments/../../outside.txt", "/etc/passwd", "attachments\\..\\x"],
)
def test_a_storage_name_altered_in_the_database_never_leaves_the_storage(
    desk: Desk, storage_name: str
) -> None:
    """A row changed by hand to name a file outside the storage is answered 404, not read."""
    document = stored_file(desk.tenant.municipality, PNG, "hokenshou.png")
    application = kyufukin_submit(desk.kyufukin, attachment=document).application
    outside = Path(settings.MEDIA_ROOT).parent / "outside.txt"
    outside.write_bytes(b"secret outside the storage")
    Attachment.objects.filter(pk=document.pk).update(storage_name=storage_name)

    response = desk.tenant.client("clerk").get(
        desk.tenant.url(f"{QUEUE}{application.receipt_number}/files/{document.pk}/")
    )

    assert response.status_code == 404
    assert b"secret" not in response.content
    assert outside.read_bytes() == b"secret outside the storage"


def test_an_attachment_whose_file_is_missing_is_not_found_not_an_error(desk: Desk) -> None:
    document = stored_file(desk.tenant.municipality, PNG, "hokenshou.png")
    application = kyufukin_submit(desk.kyufukin, attachment=document).application
    assert delete_stored(document.storage_name) is True

    response = desk.tenant.client("clerk").get(
        desk.tenant.url(f"{QUEUE}{application.receipt_number}/files/{document.pk}/")
    )

    assert response.status_code == 404


def test_an_attachment_of_another_application_is_not_served(desk: Desk) -> None:
    mark = last_audit_pk()
    response = desk.tenant.client("clerk").get(
        desk.tenant.url(f"{QUEUE}{desk.late.receipt_number}/files/{desk.document.pk}/")
    )
    assert response.status_code == 404
    assert new_audit(desk.tenant.municipality, mark) == []


# --- acting on the page ---------------------------------------------------------------------------


def buttons(client: Client, url: str) -> list[str]:
    """The states the page offers to move to, in order."""
    return re.findall(r"「([^」]+)」にする</button>", text_of(client.get(url)))


def test_the_page_offers_the_transitions_of_the_role(desk: Desk) -> None:
    """Only supervisors may reject (不承認); a viewer is offered nothing."""
    url = desk.detail(desk.ichiro)
    after_review = ["追加書類のお願い", "保留中", "振込手続き中", "取下げ"]
    assert buttons(desk.tenant.client("clerk"), url) == after_review
    assert buttons(desk.tenant.client("supervisor"), url) == [*after_review[:3], "不承認", "取下げ"]
    assert buttons(desk.tenant.client("admin"), url) == [*after_review[:3], "不承認", "取下げ"]
    assert buttons(desk.tenant.client("viewer"), url) == []


def test_a_clerk_moves_an_application_from_its_page(desk: Desk) -> None:
    taro = desk.taro.application
    client = desk.tenant.client("clerk")
    assert buttons(client, desk.detail(taro)) == ["審査中", "追加書類のお願い", "保留中", "取下げ"]

    response = client.post(
        desk.detail(taro),
        {"action": "transition", "target": "reviewing", "expected_state": "received"},
    )

    assert response.status_code == 302
    assert response["Location"] == desk.detail(taro)
    assert Application.objects.get(pk=taro.pk).state == "reviewing"
    change = StateChange.objects.filter(application=taro).latest("pk")
    assert (change.from_state, change.to_state, change.actor_label) == (
        "received",
        "reviewing",
        "kobe-clerk",
    )


def test_a_stale_page_is_refused_with_the_current_state(desk: Desk) -> None:
    client = desk.tenant.client("clerk")
    before = back_office_state(desk.tenant.municipality)
    mark = last_audit_pk()
    response = client.post(
        desk.detail(desk.ichiro),
        {"action": "transition", "target": "reviewing", "expected_state": "received"},
    )
    assert response.status_code == 400
    assert (
        "この申請は、画面を開いた後に「審査中」に変わりました。"
        "画面を更新して、内容を確かめてから操作してください。"
    ) in text_of(response)
    after = back_office_state(desk.tenant.municipality)
    assert {k: v for k, v in after.items() if k != "audit"} == {
        k: v for k, v in before.items() if k != "audit"
    }
    assert [e.kind for e in new_audit(desk.tenant.municipality, mark)] == ["access"]


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (
            {"action": "transition", "target": "reviewing", "expected_state": "received"},
            f"あなたの役割（{WELFARE}）では「審査中」に変更できません。",
        ),
        (
            {"action": "transition", "target": "withdrawn", "expected_state": "received"},
            f"あなたの役割（{WELFARE}）では「取下げ」に変更できません。",
        ),
        ({"action": "note", "text": "確認済み"}, "閲覧者はメモを書けません。"),
        (
            {"action": "assign", "assignee": "kobe-viewer"},
            "この申請の担当者を変更する権限がありません。",
        ),
    ],
    ids=["reviewing", "withdrawn", "note", "assign"],
)
def test_a_viewer_sees_but_cannot_act(desk: Desk, data: dict[str, str], message: str) -> None:
    taro = desk.taro.application
    viewer = desk.tenant.client("viewer")
    page = text_of(viewer.get(desk.detail(taro)))
    assert '<strong id="application-state">受付済</strong>' in page
    assert "にする</button>" not in page
    assert "メモを保存" not in page
    before = back_office_state(desk.tenant.municipality)
    mark = last_audit_pk()

    response = viewer.post(desk.detail(taro), data)

    assert response.status_code == 400
    body = text_of(response)
    assert f"<h2>操作できませんでした</h2><p>{message}</p>" in body
    after = back_office_state(desk.tenant.municipality)
    assert {k: v for k, v in after.items() if k != "audit"} == {
        k: v for k, v in before.items() if k != "audit"
    }
    # The page was shown again, so the look is recorded; nothing else is.
    [entry] = new_audit(desk.tenant.municipality, mark)
    assert (entry.kind, entry.actor_label) == ("access", "kobe-viewer")


def test_a_supervisor_moves_several_applications_from_the_queue(desk: Desk) -> None:
    chosen = [desk.taro.application, desk.late]
    client = desk.tenant.client("supervisor")
    response = client.post(
        desk.tenant.url(f"{QUEUE}bulk/"),
        {
            "selected": [a.pk for a in chosen],
            "target": "reviewing",
            "return_query": "state=received",
        },
    )
    assert response.status_code == 302
    assert response["Location"] == desk.tenant.url(QUEUE) + "?state=received"
    assert [Application.objects.get(pk=a.pk).state for a in chosen] == ["reviewing", "reviewing"]
    followed = client.get(response["Location"])
    assert "2件の申請を変更しました。" in text_of(followed)
    assert receipts_in(followed.content.decode()) == []  # none of 福祉課's is 受付済 now


def test_a_clerk_cannot_change_in_bulk_from_the_queue(desk: Desk) -> None:
    before = back_office_state(desk.tenant.municipality)
    clerk = desk.tenant.client("clerk")
    response = clerk.post(
        desk.tenant.url(f"{QUEUE}bulk/"),
        {"selected": [desk.taro.application.pk, desk.late.pk], "target": "reviewing"},
    )
    assert response.status_code == 302
    assert back_office_state(desk.tenant.municipality) == before
    followed = clerk.get(response["Location"])
    assert "何も変更していません。一括変更は監督者または管理者だけが行えます。" in text_of(followed)


# --- the summary ---------------------------------------------------------------------------------

_SUMMARY_ROW = re.compile(
    r'<tr><td><a href="[^"]*">([^<]*)</a></td><td class="num">(\d+)</td>'
    r'<td class="num"><a href="[^"]*">(\d+)</a></td><td class="num">(\d+)</td></tr>'
)


def summary_rows(client: Client, tenant: Tenant) -> list[tuple[str, int, int, int]]:
    response = client.get(tenant.url(f"{QUEUE}summary/"))
    assert response.status_code == 200
    return [
        (name, int(open_), int(overdue), int(done))
        for name, open_, overdue, done in _SUMMARY_ROW.findall(text_of(response))
    ]


def test_the_summary_counts_open_overdue_and_done_this_week(desk: Desk) -> None:
    # Withdrawn last week: closed, but not this week.
    gone = kyufukin_submit(desk.kyufukin, name="北 五郎", name_kana="キタ ゴロウ").application
    move(gone, "withdrawn", staff=staff_context(desk.tenant, "admin"))
    today = timezone.localdate()
    monday = today - datetime.timedelta(days=today.weekday())
    last_week = timezone.make_aware(datetime.datetime.combine(monday, datetime.time(12)))
    Application.objects.filter(pk=gone.pk).update(closed_at=last_week - datetime.timedelta(days=3))
    # Overdue but closed: not counted as overdue.
    Application.objects.filter(pk=desk.hanako.pk).update(due_date=desk.late.due_date)

    kyufukin = ("特別定額給付金の申請", 3, 1, 1)  # taro, ichiro, late open; late overdue; hanako
    todoke = ("転入届（事前申請）", 1, 0, 0)
    assert summary_rows(desk.tenant.client("admin"), desk.tenant) == [kyufukin, todoke]
    assert summary_rows(desk.tenant.client("supervisor"), desk.tenant) == [kyufukin]
    assert summary_rows(desk.tenant.client("clerk-other"), desk.tenant) == [todoke]


# --- another municipality ------------------------------------------------------------------------


def console_urls(desk: Desk) -> dict[str, str]:
    taro = desk.taro.application
    return {
        "queue": desk.tenant.url(QUEUE),
        "search": desk.tenant.url(f"{QUEUE}?q=コウベ"),
        "summary": desk.tenant.url(f"{QUEUE}summary/"),
        "detail": desk.detail(taro),
        "attachment": desk.tenant.url(f"{QUEUE}{taro.receipt_number}/files/{desk.document.pk}/"),
        "export": desk.tenant.url(f"{QUEUE}export/transfers/"),
    }


def secrets_of(desk: Desk, url: str) -> list[str]:
    """What 佐用町's staff must not see: 神戸市's receipts and names (bar those in the URL,
    which every page echoes back in its language form)."""
    texts = [
        *desk.by_name().values(),
        "神戸 太郎",
        "コウベ タロウ",
        "須磨 一郎",
        "スマ イチロウ",
        "長田 三郎",
        "ナガタ サブロウ",
        "menkyo.png",
    ]
    return [text for text in texts if text not in url]


@pytest.mark.parametrize("role", ["admin", "supervisor", "clerk", "viewer"])
def test_another_municipalitys_staff_read_no_console_page(desk: Desk, role: str) -> None:
    tenant_b = desk.other
    client = tenant_b.client(role)
    before = back_office_state(desk.tenant.municipality)
    for url in console_urls(desk).values():
        assert_cannot_read(client, url, must_not_contain=secrets_of(desk, url))
    # Under their own municipality's address, 神戸市's receipt numbers do not exist.
    taro = desk.taro.application
    for url in (
        tenant_b.url(f"{QUEUE}{taro.receipt_number}/"),
        tenant_b.url(f"{QUEUE}{taro.receipt_number}/files/{desk.document.pk}/"),
    ):
        assert_cannot_read(client, url, must_not_contain=secrets_of(desk, url))
    assert receipts_in(client.get(tenant_b.url(QUEUE)).content.decode()) == []
    assert back_office_state(desk.tenant.municipality) == before  # no access entries either


@pytest.mark.parametrize("role", ["admin", "supervisor", "clerk"])
def test_another_municipalitys_staff_change_nothing(desk: Desk, role: str) -> None:
    tenant_b = desk.other
    client = tenant_b.client(role)
    taro = desk.taro.application

    def state() -> dict[str, Any]:
        return back_office_state(desk.tenant.municipality)

    posts: list[tuple[str, dict[str, Any]]] = [
        (
            desk.detail(taro),
            {"action": "transition", "target": "reviewing", "expected_state": "received"},
        ),
        (desk.detail(taro), {"action": "note", "text": "佐用町から"}),
        (desk.detail(taro), {"action": "assign", "assignee": tenant_b.staff[role].username}),
        (
            desk.tenant.url(f"{QUEUE}bulk/"),
            {"selected": [taro.pk, desk.late.pk], "target": "reviewing"},
        ),
        (
            desk.tenant.url(f"{QUEUE}export/transfers/"),
            {
                "procedure": KYUFUKIN,
                "state": "received",
                "transfer_date": "2026-04-01",
                "format": "csv",
            },
        ),
        (
            tenant_b.url(f"{QUEUE}{taro.receipt_number}/"),
            {"action": "transition", "target": "reviewing", "expected_state": "received"},
        ),
    ]
    for url, data in posts:
        assert_cannot_change(client, url, data=data, state=state)
    assert (
        AuditEntry.objects.filter(municipality=desk.tenant.municipality, kind="access").count() == 0
    )


def _no_store(response: Any) -> bool:
    directives = {d.strip() for d in response.get("Cache-Control", "").split(",")}
    return "no-store" in directives


def test_staff_pages_and_downloads_with_personal_data_are_never_stored(desk: Desk) -> None:
    """Cache-Control: no-store on every staff page and download (browser and proxy caches
    would otherwise keep residents' data on a shared counter PC)."""
    clerk = desk.tenant.client("clerk")
    admin = desk.tenant.client("admin")
    document = stored_file(desk.tenant.municipality, PNG, "hokenshou.png")
    application = kyufukin_submit(desk.kyufukin, attachment=document).application
    urls = {
        clerk: [
            desk.tenant.url(QUEUE),
            desk.detail(application),
            desk.tenant.url(f"{QUEUE}{application.receipt_number}/files/{document.pk}/"),
            desk.tenant.url("staff/"),
        ],
        admin: [
            desk.tenant.url("staff/audit/"),
            desk.tenant.url("staff/audit/export.csv"),
            desk.tenant.url("chat/staff/"),
        ],
    }
    for client, pages in urls.items():
        for url in pages:
            response = client.get(url)
            assert response.status_code == 200, url
            assert _no_store(response), (url, response.get("Cache-Control"))


def test_a_name_search_writes_an_access_entry_without_the_name_in_clear(desk: Desk) -> None:
    """Searching residents by name is a look at personal data: it is recorded with a keyed
    hash of the normalised query (an auditor can check a given name against it), never the
    name itself; browsing the queue without a query records no search."""
    clerk = desk.tenant.client("clerk")
    assert clerk.get(desk.tenant.url(QUEUE)).status_code == 200
    mark = last_audit_pk()

    assert clerk.get(desk.tenant.url(f"{QUEUE}?q=ｺｳﾍﾞ　タロウ")).status_code == 200

    [entry, listed] = new_audit(desk.tenant.municipality, mark)
    assert (listed.action, listed.object_id) == ("list", str(desk.taro.application.pk))
    expected = blind_index(normalize_text("コウベ タロウ"), purpose="audit.application_search")
    assert (entry.kind, entry.action, entry.object_type, entry.object_id, entry.purpose) == (
        "access",
        "search",
        "procedures.application_search",
        expected,
        "申請の検索（氏名・カナ・受付番号）",
    )
    assert (entry.actor_label, entry.department_label) == ("kobe-clerk", WELFARE)
    assert "コウベ" not in str(entry.data) + entry.object_id


# --- how the pages read ------------------------------------------------------------


def test_each_action_is_grouped_with_its_own_fields_and_button(desk: Desk) -> None:
    """A field sits inside its action's group, after the action's title and before its button.

    Before, the 「住民にお願いする書類」 box came right under 「審査中にする」, belonging to the
    next, untitled form.
    """
    page = text_of(desk.tenant.client("supervisor").get(desk.detail(desk.taro.application)))
    groups = re.findall(r'<fieldset class="action">(.*?)</fieldset>', page, re.S)
    found = {}
    for group in groups:
        [legend] = re.findall(r"<legend[^>]*>(.*?)</legend>", group, re.S)
        [button] = re.findall(r"「([^」]+)」にする</button>", group)
        fields = re.findall(
            r'<(?:textarea|input) [^>]*name="(missing_items|reason|public_message)"', group
        )
        assert group.index("</legend>") < group.index("<button")
        for name in fields:
            assert group.index(f'name="{name}"') < group.index("<button")
        found[button] = (legend.strip(), fields)
    assert found == {
        "審査中": ("審査中", []),
        "追加書類のお願い": ("追加書類のお願い", ["missing_items"]),
        "保留中": ("保留中", ["reason", "public_message"]),
        "取下げ": ("取下げ", []),
    }


def _queue_rows(response: Any) -> dict[str, str]:
    return {
        receipt: row
        for row in re.findall(r"<tr>(.*?)</tr>", text_of(response), re.S)
        for receipt in receipts_in(row)
    }


def test_the_queue_shows_procedure_name_applicant_and_the_residents_receipt_format(
    desk: Desk,
) -> None:
    response = desk.tenant.client("admin").get(desk.tenant.url(QUEUE))
    rows = _queue_rows(response)
    taro = desk.taro.application.receipt_number
    row = rows[taro]
    cells = [re.sub(r"<[^>]+>", "", c).strip() for c in re.findall(r"<td>(.*?)</td>", row, re.S)]
    assert (
        cells[:4]
        == [
            "",  # the bulk checkbox
            f"{taro[:5]}-{taro[5:]}",
            "特別定額給付金の申請",
            "神戸 太郎",
        ]
    )
    assert KYUFUKIN not in row
    assert "長田 三郎" in rows[desk.citizen.receipt_number]


def test_listing_names_in_the_queue_leaves_one_access_per_application_shown(desk: Desk) -> None:
    mark = last_audit_pk()
    response = desk.tenant.client("supervisor").get(desk.tenant.url(QUEUE))
    assert response.status_code == 200
    entries = new_audit(desk.tenant.municipality, mark)
    shown = {a.pk for a in Application.objects.filter(receipt_number__in=_queue_rows(response))}
    assert len(shown) == 4
    assert sorted(int(e.object_id) for e in entries) == sorted(shown)
    assert {(e.kind, e.action, e.object_type, e.purpose, e.actor_label) for e in entries} == {
        ("access", "list", "procedures.application", "申請一覧での氏名の表示", "kobe-supervisor")
    }
    assert {e.department_label for e in entries} == {WELFARE}


def test_an_empty_queue_page_leaves_no_access(desk: Desk) -> None:
    mark = last_audit_pk()
    response = desk.tenant.client("admin").get(desk.tenant.url(QUEUE) + "?state=withdrawn")
    assert response.status_code == 200
    assert new_audit(desk.tenant.municipality, mark) == []


def test_the_history_names_who_acted_as_a_person_would(desk: Desk) -> None:
    supervisor = desk.tenant.staff["supervisor"]
    supervisor.display_name = "兵庫 課長"
    supervisor.save(update_fields=["display_name"])
    # As the wizard records a resident's own submission (views.py: AuditActor(label="resident")).
    StateChange.objects.filter(application=desk.ichiro, from_state="").update(
        actor_label="resident"
    )
    client = desk.tenant.client("supervisor")
    page = text_of(client.get(desk.detail(desk.ichiro)))
    history = page.split("<h2>経過</h2>", 1)[1].split("</ol>", 1)[0]
    # Submitted online by the resident, then moved by the admin of the fixture.
    assert "受付済（住民）" in history
    assert "審査中（kobe-admin）" in history
    assert "resident" not in history

    client.post(
        desk.detail(desk.ichiro),
        {
            "action": "transition",
            "target": "on_hold",
            "reason": "確認中",
            "expected_state": "reviewing",
        },
    )
    page = text_of(client.get(desk.detail(desk.ichiro)))
    assert "保留中（兵庫 課長）" in page

    client.cookies["django_language"] = "en"
    english = text_of(client.get(desk.detail(desk.ichiro)))
    assert "（Resident）" in english
