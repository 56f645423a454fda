"""受付票 (receipt slips): a fresh lookup secret printed for applicants who applied on paper.

神戸市 has the 特別定額給付金 in its welfare department (福祉課); 佐用町's staff and 神戸市's
citizens department (市民課) must get nothing and change nothing.
"""

from __future__ import annotations

import datetime
import html
import io
import re
from typing import Any

import pytest
from django.test import Client, override_settings
from django.utils import timezone
from pdfminer.high_level import extract_pages, extract_text

from madoguchi.audit.models import AuditEntry, EntryKind
from madoguchi.procedures.intake import applications_import_csv
from madoguchi.procedures.models import Application, ProcedureVersion
from madoguchi.procedures.receipts import lookup_secret_matches, receipt_number_display
from madoguchi.procedures.selectors import definition_of
from madoguchi.procedures.services import SubmitResult, bundle_submit
from madoguchi.procedures.slips import EVENT, SlipErrorCode, SlipRefused, slips_issue
from madoguchi.procedures.status import LookupErrorCode, LookupRefused, status_lookup
from madoguchi.procedures.workflow import application_transition
from tests.isolation import Tenant, assert_cannot_change, snapshot
from tests.procedures.backoffice_fixtures import (
    back_office_state,
    csv_row,
    kyufukin_submit,
    last_audit_pk,
    new_audit,
    publish_catalogue,
    staff_context,
)
from tests.procedures.conftest import ACTOR, kyufukin_answers
from tests.procedures.test_bundles import ANSWERS as BUNDLE_ANSWERS
from tests.procedures.test_bundles import BUNDLE, PARTS

SITE = "https://madoguchi.example.jp"
SECRET = re.compile(r"確認コード\s+([A-Z0-9]{4}-[A-Z0-9]{4})")
QUEUE = "staff/applications/"

pytestmark = pytest.mark.usefixtures("_site_url")


@pytest.fixture
def _site_url() -> Any:
    with override_settings(MADOGUCHI_SITE_URL=SITE):
        yield


def pdf_text(pdf: bytes) -> str:
    return extract_text(io.BytesIO(pdf))


def page_count(pdf: bytes) -> int:
    return len(list(extract_pages(io.BytesIO(pdf))))


def secrets_in(text: str) -> list[str]:
    """The 確認コード printed on the slips, as typed on the status page (without the hyphen)."""
    return [found.replace("-", "") for found in SECRET.findall(text)]


def lookup(tenant: Tenant, application: Application, secret: str) -> bool:
    """Whether ``secret`` opens the application's status (each try from its own client)."""
    try:
        status_lookup(
            municipality=tenant.municipality,
            receipt_text=application.receipt_number,
            secret_text=secret,
            client=f"test-{secret}",
        )
    except LookupRefused as refused:
        code = refused.code
    else:
        return True
    assert code == LookupErrorCode.NOT_FOUND
    return False


def slip_url(tenant: Tenant, application: Application) -> str:
    return tenant.url(f"{QUEUE}{application.receipt_number}/slip/")


def print_slip(tenant: Tenant, application: Application, role: str = "clerk") -> bytes:
    response = tenant.client(role).post(slip_url(tenant, application))
    assert response.status_code == 200, response.content[:500]
    assert response["Content-Type"] == "application/pdf"
    return bytes(response.content)


def paper(version: ProcedureVersion, **changes: Any) -> SubmitResult:
    return kyufukin_submit(version, channel="paper", **changes)


def slip_events() -> list[AuditEntry]:
    return list(AuditEntry.objects.filter(action=EVENT).order_by("pk"))


# --- one slip ------------------------------------------------------------------------------------


def test_the_slip_prints_number_new_code_procedure_dates_office_and_url(
    tenant_a: Tenant, kyufukin: ProcedureVersion
) -> None:
    application = paper(kyufukin, name="𠮷田 太郎").application

    pdf = print_slip(tenant_a, application)

    assert pdf.startswith(b"%PDF-")
    assert page_count(pdf) == 1
    text = pdf_text(pdf)
    [secret] = secrets_in(text)
    received = timezone.localdate(application.submitted_at)
    due = application.due_date
    for expected in (
        "受付票",
        "(cid:13706)田 太郎 様",  # 𠮷 (U+20BB7) is CID 13706 of Adobe-Japan1, printed whole
        "神戸市",
        "福祉課",
        "特別定額給付金",
        receipt_number_display(application.receipt_number),
        f"{SITE}/kobe/status/?receipt={application.receipt_number}",
        received.isoformat(),
        due.isoformat(),
        "ほかの人に",
    ):
        assert expected in text, expected
    # Nothing of the answers but the name reaches the slip.
    for answer in ("加納町", "6508570", "650-8570", "0783318181", "1234567", "1980", "taro@"):
        assert answer not in text, answer
    assert lookup_secret_matches(application.receipt_number, secret, _stored_hash(application))


def _stored_hash(application: Application) -> str:
    return Application.objects.get(pk=application.pk).secret_hash


def test_the_new_code_opens_the_status_page_and_the_old_one_no_longer_does(
    tenant_a: Tenant, kyufukin: ProcedureVersion
) -> None:
    result = paper(kyufukin)
    old = result.secret
    assert old is not None
    assert lookup(tenant_a, result.application, old)

    [new] = secrets_in(pdf_text(print_slip(tenant_a, result.application)))

    assert new != old
    assert lookup(tenant_a, result.application, new)
    assert not lookup(tenant_a, result.application, old)
    # Printing again replaces the code once more.
    [newer] = secrets_in(pdf_text(print_slip(tenant_a, result.application, "supervisor")))
    assert lookup(tenant_a, result.application, newer)
    assert not lookup(tenant_a, result.application, new)


def test_the_pdf_is_an_attachment_no_cache_keeps(
    tenant_a: Tenant, kyufukin: ProcedureVersion
) -> None:
    application = paper(kyufukin).application

    response = tenant_a.client("admin").post(slip_url(tenant_a, application))

    assert response.status_code == 200
    assert response["Content-Disposition"] == (
        f'attachment; filename="uketsukehyo-{application.receipt_number}.pdf"'
    )
    assert "no-store" in response["Cache-Control"].split(", ")


def test_a_final_application_prints_that_it_is_done_instead_of_a_date(
    tenant_a: Tenant, kyufukin: ProcedureVersion
) -> None:
    application = paper(kyufukin).application
    application_transition(
        application=application,
        target="withdrawn",
        staff=staff_context(tenant_a, "clerk"),
        reason="本人から取下げの申出",
    )

    text = pdf_text(print_slip(tenant_a, application))

    assert "処理は終わっています" in text
    assert application.due_date.isoformat() not in text


def test_issuing_writes_an_access_entry_and_an_event_without_the_code(
    tenant_a: Tenant, kyufukin: ProcedureVersion
) -> None:
    application = paper(kyufukin).application
    since = last_audit_pk()

    [secret] = secrets_in(pdf_text(print_slip(tenant_a, application)))

    entries = new_audit(tenant_a.municipality, since)
    assert [(e.kind, e.action, e.object_id) for e in entries] == [
        (EntryKind.ACCESS, "slip", str(application.pk)),
        (EntryKind.EVENT, EVENT, str(application.pk)),
    ]
    assert {e.actor_label for e in entries} == {"kobe-clerk"}
    assert entries[0].purpose == "受付票の発行（確認コードの発行）"
    assert entries[1].data == {"shared_with": [], "pages": 1}
    for entry in entries:
        assert secret not in str(entry.data)
        assert secret[:4] not in str(entry.data)
    # The resident sees the look on the status page.
    page = Client().post(
        tenant_a.url("status/"),
        {"receipt_number": application.receipt_number, "secret": secret},
    )
    assert "受付票の発行（確認コードの発行）" in html.unescape(page.content.decode())


def test_the_console_page_offers_the_button_to_handlers_only(
    tenant_a: Tenant, kyufukin: ProcedureVersion
) -> None:
    application = paper(kyufukin).application
    url = tenant_a.url(f"{QUEUE}{application.receipt_number}/")
    button = "受付票を印刷（確認コードを発行）"

    for role in ("admin", "supervisor", "clerk"):
        page = tenant_a.client(role).get(url).content.decode()
        assert button in page, role
        assert f'action="{slip_url(tenant_a, application)}"' in page
        assert "以前の確認コード" in page
    assert button not in tenant_a.client("viewer").get(url).content.decode()
    batch = "紙の申請の受付票をまとめて印刷"
    assert batch in tenant_a.client("clerk").get(tenant_a.url(QUEUE)).content.decode()
    assert batch not in tenant_a.client("viewer").get(tenant_a.url(QUEUE)).content.decode()


# --- refused -------------------------------------------------------------------------------------


def test_get_issues_nothing(tenant_a: Tenant, kyufukin: ProcedureVersion) -> None:
    application = paper(kyufukin).application
    before = back_office_state(tenant_a.municipality)

    for url in (slip_url(tenant_a, application), tenant_a.url(f"{QUEUE}slips/")):
        assert tenant_a.client("clerk").get(url).status_code == 405

    assert back_office_state(tenant_a.municipality) == before


def test_a_viewer_is_refused_and_nothing_changes(
    tenant_a: Tenant, kyufukin: ProcedureVersion
) -> None:
    application = paper(kyufukin).application

    assert_cannot_change(
        tenant_a.client("viewer"),
        slip_url(tenant_a, application),
        state=lambda: back_office_state(tenant_a.municipality),
    )


def test_staff_of_another_department_are_refused_and_nothing_changes(
    tenant_a: Tenant, kyufukin: ProcedureVersion
) -> None:
    application = paper(kyufukin).application

    assert_cannot_change(
        tenant_a.client("clerk-other"),
        slip_url(tenant_a, application),
        state=lambda: back_office_state(tenant_a.municipality),
    )


def test_staff_of_another_municipality_are_refused_and_nothing_changes(
    tenant_a: Tenant, tenant_b: Tenant, kyufukin: ProcedureVersion
) -> None:
    application = paper(kyufukin).application
    state = lambda: back_office_state(tenant_a.municipality)  # noqa: E731

    for role in ("admin", "clerk"):
        client = tenant_b.client(role)
        assert_cannot_change(client, slip_url(tenant_a, application), state=state)
        # Their own municipality's address with 神戸市's receipt number finds nothing either.
        assert_cannot_change(client, slip_url(tenant_b, application), state=state)
    assert slip_events() == []


@pytest.mark.parametrize("receipt", ["abc", "1234567890", "１２３", "-1", "9" * 200])
def test_unknown_and_malformed_numbers_are_a_japanese_404(
    tenant_a: Tenant, kyufukin: ProcedureVersion, receipt: str
) -> None:
    before = back_office_state(tenant_a.municipality)

    response = tenant_a.client("admin").post(tenant_a.url(f"{QUEUE}{receipt}/slip/"))

    assert response.status_code == 404
    assert "ページが見つかりません" in response.content.decode()
    assert back_office_state(tenant_a.municipality) == before


def test_the_service_refuses_ids_of_another_municipality(
    tenant_a: Tenant, tenant_b: Tenant, kyufukin: ProcedureVersion
) -> None:
    application = paper(kyufukin).application
    before = snapshot(Application.objects.all())

    with pytest.raises(SlipRefused) as refused:
        slips_issue(
            municipality=tenant_b.municipality,
            staff=staff_context(tenant_b, "admin"),
            application_ids=[application.pk],
        )

    assert refused.value.code == SlipErrorCode.NOT_FOUND
    assert snapshot(Application.objects.all()) == before
    assert slip_events() == []


# --- bundles -------------------------------------------------------------------------------------


def publish_bundle(tenant: Tenant) -> ProcedureVersion:
    for code, department in PARTS.items():
        publish_catalogue(tenant.municipality, code, department)
    return publish_catalogue(tenant.municipality, BUNDLE, "citizens")


def bundle_paper(version: ProcedureVersion) -> list[Application]:
    results = bundle_submit(
        municipality=version.municipality,
        version=version,
        answers=BUNDLE_ANSWERS,
        channel="paper",
        actor=ACTOR,
    )
    return [r.application for r in results]


def test_bundle_parts_share_one_new_code_on_one_page(tenant_a: Tenant) -> None:
    parts = bundle_paper(publish_bundle(tenant_a))
    kokuho = parts[1]  # a welfare part: the welfare clerk prints from it

    pdf = print_slip(tenant_a, kokuho)

    assert page_count(pdf) == 1
    text = pdf_text(pdf)
    [secret] = secrets_in(text)
    for part in parts:
        assert receipt_number_display(part.receipt_number) in text
        assert lookup(tenant_a, part, secret)
        assert lookup_secret_matches(part.receipt_number, secret, _stored_hash(part))
    for name in ("転入届（事前申請）", "国民健康保険の加入届", "児童手当 認定請求", "神戸 太郎 様"):
        assert name in text, name
    events = slip_events()
    assert sorted(int(e.object_id) for e in events) == sorted(p.pk for p in parts)
    accesses = AuditEntry.objects.filter(kind=EntryKind.ACCESS, action="slip")
    assert sorted(int(e.object_id) for e in accesses) == sorted(p.pk for p in parts)


# --- a day's paper applications ------------------------------------------------------------------


def print_day(tenant: Tenant, role: str = "clerk", **data: str) -> Any:
    return tenant.client(role).post(
        tenant.url(f"{QUEUE}slips/"), {"day": timezone.localdate().isoformat(), **data}
    )


def test_a_day_of_paper_applications_prints_one_page_each_and_a_bundle_once(
    tenant_a: Tenant, kyufukin: ProcedureVersion
) -> None:
    singles = [paper(kyufukin, name=f"紙 {n}郎").application for n in "一二三"]
    kyufukin_submit(kyufukin, channel="web")  # online: has its code already
    bundle = bundle_paper(publish_bundle(tenant_a))

    response = print_day(tenant_a, "admin")

    assert response.status_code == 200
    assert "no-store" in response["Cache-Control"].split(", ")
    assert response["Content-Disposition"].startswith('attachment; filename="uketsukehyo-')
    pdf = bytes(response.content)
    assert page_count(pdf) == 4
    codes = secrets_in(pdf_text(pdf))
    assert len(codes) == len(set(codes)) == 4
    for application, secret in zip(singles, codes, strict=False):
        assert lookup(tenant_a, application, secret)
    for part in bundle:
        assert lookup(tenant_a, part, codes[3])
    assert len(slip_events()) == 3 + 3


def test_a_second_run_skips_printed_slips_unless_asked(
    tenant_a: Tenant, kyufukin: ProcedureVersion
) -> None:
    first = paper(kyufukin).application
    [code] = secrets_in(pdf_text(bytes(print_day(tenant_a).content)))
    second = paper(kyufukin, name="後から 入力").application

    again = bytes(print_day(tenant_a).content)

    assert page_count(again) == 1
    assert receipt_number_display(second.receipt_number) in pdf_text(again)
    assert lookup(tenant_a, first, code)  # the slip already sent still works
    everything = bytes(print_day(tenant_a, include_issued="1").content)
    assert page_count(everything) == 2
    assert not lookup(tenant_a, first, code)


def test_a_department_clerk_prints_only_their_department(
    tenant_a: Tenant, kyufukin: ProcedureVersion
) -> None:
    paper(kyufukin)
    before = back_office_state(tenant_a.municipality)

    response = print_day(tenant_a, "clerk-other")  # 市民課: the 給付金 is 福祉課's

    assert response.status_code == 302
    assert back_office_state(tenant_a.municipality) == before
    # A viewer has nothing to print either.
    assert print_day(tenant_a, "viewer").status_code == 302
    assert back_office_state(tenant_a.municipality) == before


def test_a_bad_day_is_a_message_not_an_error(tenant_a: Tenant, kyufukin: ProcedureVersion) -> None:
    paper(kyufukin)
    before = back_office_state(tenant_a.municipality)
    client = tenant_a.client("clerk")

    responses = [
        client.post(tenant_a.url(f"{QUEUE}slips/"), {"day": day})
        for day in ("", "昨日", "2024-02-30", "x" * 500)
    ]
    tomorrow = (timezone.localdate() + datetime.timedelta(days=1)).isoformat()
    none_that_day = client.post(tenant_a.url(f"{QUEUE}slips/"), {"day": tomorrow})
    assert back_office_state(tenant_a.municipality) == before
    assert [r.status_code for r in (*responses, none_that_day)] == [302] * 5
    # The queue they return to shows every message (and records only the names it lists).
    shown = client.get(none_that_day["Location"]).content.decode()
    assert shown.count("受付日：") == 4
    assert "受付票を印刷する紙の申請はありません。" in shown


def test_staff_of_another_municipality_print_none_of_its_paper_applications(
    tenant_a: Tenant, tenant_b: Tenant, kyufukin: ProcedureVersion
) -> None:
    paper(kyufukin)

    assert_cannot_change(
        tenant_b.client("admin"),
        tenant_a.url(f"{QUEUE}slips/"),
        data={"day": timezone.localdate().isoformat(), "include_issued": "1"},
        state=lambda: back_office_state(tenant_a.municipality),
    )
    # In their own console the day holds nothing of 神戸市's.
    response = print_day(tenant_b, "admin", include_issued="1")
    assert response.status_code == 302
    assert slip_events() == []


def test_rows_imported_from_csv_get_their_slips(
    tenant_a: Tenant, kyufukin: ProcedureVersion
) -> None:
    definition = definition_of(kyufukin)
    rows = [
        csv_row(definition, kyufukin_answers("x", name=name)) for name in ("紙 花子", "紙 月子")
    ]
    header = list(rows[0])
    text = "\r\n".join(
        [",".join(header), *(",".join(f'"{row.get(h, "")}"' for h in header) for row in rows)]
    )
    assert kyufukin.procedure.current_version is not None
    report = applications_import_csv(
        municipality=tenant_a.municipality,
        procedure=kyufukin.procedure,
        data=text.encode(),
        actor=ACTOR,
        paper_attachments=True,
    )
    assert report.imported == 2, report.as_text()

    pdf = bytes(print_day(tenant_a).content)

    text_out = pdf_text(pdf)
    assert page_count(pdf) == 2
    codes = secrets_in(text_out)
    for line, receipt in sorted(report.receipts.items()):
        application = Application.objects.get(receipt_number=receipt)
        assert application.channel == "paper"
        assert receipt_number_display(receipt) in text_out
        assert lookup(tenant_a, application, codes[line - 2])
