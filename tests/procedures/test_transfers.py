"""Tests for the 全銀 transfer export (madoguchi.procedures.transfers and its console page).

Three 特別定額給付金 applications wait in 振込手続き中 with 0, 1 and 2 household members: the
file pays 100,000 yen for the head of household and for each member, to the account each
applicant gave, with the receipt number as 顧客コード1.
"""

from __future__ import annotations

import csv
import datetime
import html
import io
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from django.test import Client
from pytest_django import DjangoDbBlocker

from madoguchi.procedures.models import Application, Procedure, ProcedureVersion, TransferAccount
from madoguchi.procedures.transfers import TransferRefused, transfer_export
from madoguchi.procedures.zengin import RECORD_LENGTH, Remitter, parse_transfer_file
from tests.isolation import Tenant, make_tenant
from tests.procedures.backoffice_fixtures import (
    WELFARE,
    back_office_state,
    kyufukin_submit,
    last_audit_pk,
    move,
    new_audit,
    publish_catalogue,
    shared_database,
    staff_context,
)
from tests.procedures.conftest import KYUFUKIN

EXPORT = "staff/applications/export/transfers/"
REMITTER = {
    "requester_code": "1234567890",
    "requester_name": "コウベシ",
    "bank_code": "0009",
    "bank_name": "ミツイスミトモ",
    "branch_code": "123",
    "branch_name": "",
    "account_type": "1",
    "account_number": "7654321",
}
FORM = {
    **REMITTER,
    "procedure": KYUFUKIN,
    "state": "transfer_pending",
    "transfer_date": "令和8年4月10日",
    "format": "zengin",
}
MEMBER = {"name": "神戸 花子", "name_kana": "コウベ ハナコ", "birth_date": "2010-05-05"}


@dataclass(frozen=True)
class Payee:
    name_kana: str
    bank_kana: str
    account_number: str
    members: int


PAYEES = [
    Payee("コウベ タロウ", "ｺｳﾍﾞ ﾀﾛｳ", "1111111", 0),
    Payee("スマ イチロウ", "ｽﾏ ｲﾁﾛｳ", "2222222", 1),
    Payee("タルミ ジュンコ", "ﾀﾙﾐ ｼﾞﾕﾝｺ", "0333333", 2),
]


@dataclass
class Payroll:
    tenant: Tenant
    version: ProcedureVersion
    payable: list[Application]  # 振込手続き中, in the order the file lists them
    waiting: Application  # 審査中: not exported

    @property
    def procedure(self) -> Procedure:
        return self.version.procedure


@pytest.fixture(scope="module")
def payroll(django_db_setup: None, django_db_blocker: DjangoDbBlocker) -> Iterator[Payroll]:
    with shared_database(django_db_blocker):
        tenant = make_tenant("281000", "kobe")
        version = publish_catalogue(tenant.municipality, KYUFUKIN, "welfare")
        admin = staff_context(tenant, "admin")
        payable = []
        for payee in PAYEES:
            members = [
                {**MEMBER, "name_kana": f"コウベ ハナコ{'ー' * n}", "relationship": "child"}
                for n in range(payee.members)
            ]
            account = {
                "bank_code": "0001",
                "branch_code": "001",
                "account_type": "普通",
                "account_number": payee.account_number,
                "holder_name": payee.name_kana,
            }
            application = kyufukin_submit(
                version, name_kana=payee.name_kana, members=members, account=account
            ).application
            payable.append(move(application, "reviewing", "transfer_pending", staff=admin))
        waiting = move(
            kyufukin_submit(version, name_kana="ナダ ジロウ").application, "reviewing", staff=admin
        )
        yield Payroll(tenant, version, payable, waiting)


@pytest.fixture(autouse=True)
def _savepoint(db: None) -> None:
    """Each test in a savepoint of the module's transaction."""


def export(client: Client, tenant: Tenant, **changes: str) -> Any:
    return client.post(tenant.url(EXPORT), {**FORM, **changes})


def page_text(response: Any) -> str:
    return html.unescape(response.content.decode())


def break_holder_name(application: Application, holder_name: str | None) -> None:
    """Store an account the form would have refused (as an old version or an import might)."""
    fresh = Application.objects.get(pk=application.pk)
    answers = dict(fresh.answers)
    answers["account"] = (
        None if holder_name is None else {**answers["account"], "holder_name": holder_name}
    )
    fresh.answers = answers
    fresh.save(update_fields=["answers"])


# --- the 全銀 file -----------------------------------------------------------------------------


def test_the_file_has_120_byte_shift_jis_records_with_matching_totals(payroll: Payroll) -> None:
    response = export(payroll.tenant.client("admin"), payroll.tenant)

    assert response.status_code == 200
    assert response["Content-Type"] == "text/plain; charset=shift_jis"
    assert response["Content-Disposition"] == (
        'attachment; filename="281000_teigaku-kyufukin_20260410.txt"'
    )
    content = response.content
    lines = content.split(b"\r\n")
    assert lines[-1] == b""
    assert [len(line) for line in lines[:-1]] == [RECORD_LENGTH] * 6
    assert [line[:1] for line in lines[:-1]] == [b"1", b"2", b"2", b"2", b"8", b"9"]
    content.decode("shift_jis")  # every byte is a Shift_JIS character

    header, records, trailer = parse_transfer_file(content)
    assert header == {
        "type_code": "21",
        "code_division": "0",
        "requester_code": "1234567890",
        "requester_name": "ｺｳﾍﾞｼ",
        "transfer_date": "0410",
        "bank_code": "0009",
        "bank_name": "ﾐﾂｲｽﾐﾄﾓ",
        "branch_code": "123",
        "branch_name": "",
        "account_type": "1",
        "account_number": "7654321",
        "dummy": "",
    }
    assert records == [
        {
            "bank_code": "0001",
            "bank_name": "",
            "branch_code": "001",
            "branch_name": "",
            "clearing_house_code": "0000",
            "account_type": "1",
            "account_number": payee.account_number,
            "recipient_name": payee.bank_kana,
            "amount": 100_000 * (1 + payee.members),
            "new_code": "0",
            "customer_code1": application.receipt_number,
            "customer_code2": "0000000000",
            "transfer_class": "7",
            "identification": "",
            "dummy": "",
        }
        for payee, application in zip(PAYEES, payroll.payable, strict=True)
    ]
    assert trailer == {"total_count": 3, "total_amount": 600_000, "dummy": ""}


def test_the_csv_lists_the_same_payments_for_checking(payroll: Payroll) -> None:
    response = export(payroll.tenant.client("admin"), payroll.tenant, format="csv")

    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"] == (
        'attachment; filename="281000_teigaku-kyufukin_20260410.csv"'
    )
    assert response.content.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"), newline="")))
    assert rows == [
        [
            "金融機関コード",
            "金融機関名",
            "支店コード",
            "支店名",
            "預金種目",
            "口座番号",
            "受取人名",
            "金額",
            "顧客コード1",
            "顧客コード2",
        ],
        *(
            [
                "0001",
                "",
                "001",
                "",
                "普通",
                payee.account_number,
                payee.bank_kana,
                str(100_000 * (1 + payee.members)),
                application.receipt_number,
                "0000000000",
            ]
            for payee, application in zip(PAYEES, payroll.payable, strict=True)
        ),
    ]
    assert b"\r\n" in response.content


def test_each_exported_application_gets_an_access_entry_and_the_export_one_event(
    payroll: Payroll,
) -> None:
    mark = last_audit_pk()
    assert export(payroll.tenant.client("admin"), payroll.tenant).status_code == 200

    entries = new_audit(payroll.tenant.municipality, mark)
    assert [
        (e.kind, e.action, e.purpose, e.department_label, e.actor_label, e.object_id)
        for e in entries
    ] == [
        *(
            ("access", "export_transfer", "振込データの作成", WELFARE, "kobe-admin", str(a.pk))
            for a in payroll.payable
        ),
        ("event", "application.export_transfer", "", "", "kobe-admin", str(payroll.procedure.pk)),
    ]
    assert entries[-1].object_type == "procedures.procedure"
    assert entries[-1].data == {
        "state": "transfer_pending",
        "count": 3,
        "total": 600_000,
        "format": "zengin",
    }
    # Exporting moves nobody: 振込済み is recorded when the bank's results come back.
    assert [Application.objects.get(pk=a.pk).state for a in payroll.payable] == [
        "transfer_pending"
    ] * 3


def test_the_remitter_account_is_remembered_for_the_next_export(payroll: Payroll) -> None:
    client = payroll.tenant.client("admin")
    assert not TransferAccount.objects.filter(municipality=payroll.tenant.municipality).exists()
    assert export(client, payroll.tenant, format="csv").status_code == 200

    account = TransferAccount.objects.get(municipality=payroll.tenant.municipality)
    assert {name: getattr(account, name) for name in REMITTER} == REMITTER
    form = page_text(client.get(payroll.tenant.url(EXPORT)))
    for name, value in REMITTER.items():
        assert f'id="f-{name}" name="{name}" value="{value}"' in form


def test_a_bad_holder_name_refuses_the_whole_export(payroll: Payroll) -> None:
    bad = payroll.payable[1]
    break_holder_name(bad, "須磨 一郎")
    before = back_office_state(payroll.tenant.municipality)

    response = export(payroll.tenant.client("admin"), payroll.tenant)

    assert response.status_code == 400
    assert "Content-Disposition" not in response
    assert response["Content-Type"] == "text/html; charset=utf-8"
    text = page_text(response)
    assert "振込データを作成できませんでした（何も出力していません）" in text
    problems = text.split('<div class="error-summary"', 1)[1].split("</ul>", 1)[0]
    assert problems.count("<li>") == 1
    assert (
        f"<li>{bad.receipt_number}：2件目の振込：受取人名はカナか英字で指定してください"
        "（漢字は使えません）。</li>"
    ) in problems
    assert back_office_state(payroll.tenant.municipality) == before  # no access, no account


def test_every_refused_application_is_named_by_its_own_receipt(payroll: Payroll) -> None:
    first, second, third = payroll.payable
    break_holder_name(first, None)  # no account at all
    break_holder_name(third, "垂水 順子")

    with pytest.raises(TransferRefused) as exc:
        transfer_export(
            staff=staff_context(payroll.tenant, "admin"),
            procedure=payroll.procedure,
            state="transfer_pending",
            remitter=Remitter(
                transfer_date=datetime.date(2026, 4, 10),
                **REMITTER,
            ),
            fmt="zengin",
            departments=None,
        )
    named = [problem.split("：", 1)[0] for problem in exc.value.messages]
    assert named == [first.receipt_number, third.receipt_number]
    assert second.receipt_number not in " ".join(exc.value.messages)


# --- who may export ------------------------------------------------------------------------------


@pytest.mark.parametrize("role", ["clerk", "viewer", "clerk-other"])
def test_clerks_and_viewers_are_refused(payroll: Payroll, role: str) -> None:
    client = payroll.tenant.client(role)
    before = back_office_state(payroll.tenant.municipality)
    assert client.get(payroll.tenant.url(EXPORT)).status_code == 403
    response = export(client, payroll.tenant)
    assert response.status_code == 403
    assert "Content-Disposition" not in response
    assert back_office_state(payroll.tenant.municipality) == before


def test_a_department_supervisor_exports_from_the_console_page(payroll: Payroll) -> None:
    response = export(payroll.tenant.client("supervisor"), payroll.tenant)
    assert response.status_code == 200
    _header, records, trailer = parse_transfer_file(response.content)
    assert [r["customer_code1"] for r in records] == [a.receipt_number for a in payroll.payable]
    assert trailer["total_amount"] == 600_000


def test_the_export_service_lets_a_supervisor_pay_their_department(payroll: Payroll) -> None:
    supervisor = staff_context(payroll.tenant, "supervisor")
    result = transfer_export(
        staff=supervisor,
        procedure=payroll.procedure,
        state="transfer_pending",
        remitter=Remitter(transfer_date=datetime.date(2026, 4, 10), **REMITTER),
        fmt="zengin",
        departments=supervisor.departments,
    )
    assert (result.count, result.total, result.filename) == (
        3,
        600_000,
        "281000_teigaku-kyufukin_20260410.txt",
    )
    # The citizens department has nothing of this procedure to pay.
    citizens = staff_context(payroll.tenant, "clerk-other")
    with pytest.raises(TransferRefused) as exc:
        transfer_export(
            staff=staff_context(payroll.tenant, "admin"),
            procedure=payroll.procedure,
            state="transfer_pending",
            remitter=Remitter(transfer_date=datetime.date(2026, 4, 10), **REMITTER),
            fmt="zengin",
            departments=citizens.departments,
        )
    assert exc.value.messages == ["対象の申請がありません。"]
    with pytest.raises(TransferRefused) as exc:
        transfer_export(
            staff=staff_context(payroll.tenant, "clerk"),
            procedure=payroll.procedure,
            state="transfer_pending",
            remitter=Remitter(transfer_date=datetime.date(2026, 4, 10), **REMITTER),
            fmt="zengin",
            departments=None,
        )
    assert exc.value.messages == ["振込データは監督者または管理者だけが作成できます。"]


# --- the form ------------------------------------------------------------------------------------


def test_the_state_is_chosen_by_its_label_from_the_procedures_workflow(payroll: Payroll) -> None:
    page = page_text(payroll.tenant.client("supervisor").get(payroll.tenant.url(EXPORT)))
    [select] = re.findall(r'<select id="f-state" name="state"[^>]*>(.*?)</select>', page, re.S)
    options = re.findall(r'<option value="([^"]+)"( selected)?>([^<]+)</option>', select)
    assert options == [
        ("received", "", "受付済"),
        ("reviewing", "", "審査中"),
        ("more_info", "", "追加書類のお願い"),
        ("transfer_pending", " selected", "振込手続き中"),
        ("paid", "", "振込済み"),
        ("on_hold", "", "保留中"),
        ("rejected", "", "不承認"),
        ("withdrawn", "", "取下げ"),
    ]
    assert "状態キー" not in page


def test_a_state_outside_the_procedures_workflow_is_refused_and_nothing_is_exported(
    payroll: Payroll,
) -> None:
    before = back_office_state(payroll.tenant.municipality)
    response = export(payroll.tenant.client("supervisor"), payroll.tenant, state="bogus")
    assert response.status_code == 400
    assert "Content-Disposition" not in response
    assert "対象の状態を選んでください。" in page_text(response)
    assert back_office_state(payroll.tenant.municipality) == before
