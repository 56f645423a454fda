"""The resident's pages as a walkthrough found them: group titles and format examples, the step
indicator, bank and branch chosen by name, the receipt, answering a request on the status page
and the grouped access log."""

from __future__ import annotations

import html
import re
from typing import Any

from django.core import mail
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.utils import timezone

from madoguchi.audit.services import AuditActor, audit_access
from madoguchi.procedures.models import Application, InfoRequest
from madoguchi.procedures.workflow import application_transition
from tests.isolation import Tenant
from tests.procedures.backoffice_fixtures import back_office_state, staff_context
from tests.procedures.test_wizard import APPLICANT, BANK, PNG, step_url


def page(response: Any) -> str:
    return html.unescape(response.content.decode())


def errors_of(response: Any) -> list[str]:
    return re.findall(r'<p class="field__error"[^>]*>エラー：(.*?)</p>', page(response))


def value_of(response: Any, name: str) -> str:
    match = re.search(rf'name="{re.escape(name)}" value="([^"]*)"', page(response))
    assert match is not None, f"no input {name}"
    return match.group(1)


# --- 1. repeating groups and the step indicator --------------------------------------------------


def test_group_rows_are_titled_per_person_with_format_examples(
    wizard: tuple[Client, str],
) -> None:
    client, first = wizard
    client.post(first, APPLICANT)
    response = client.post(step_url(first, "household"), {"action": "add:members"})
    body = page(response)

    assert "<legend>世帯員（1人目）</legend>" in body
    assert "人目・件目" not in body
    assert ">1人目を削除<" in body
    # Typed fields of a row show how to write them.
    assert 'id="f-members-0-birth_date-help">例：1980-04-01 または 昭和55年4月1日</p>' in body
    assert 'id="f-members-0-name_kana-help">例：コウベ タロウ</p>' in body
    assert 'aria-describedby="f-members-0-birth_date-help"' in body


def test_the_step_count_matches_the_steps_and_visited_steps_are_links(
    wizard: tuple[Client, str],
) -> None:
    client, first = wizard
    body = page(client.get(first))
    steps = re.findall(r'<li class="progress__step', body)
    assert len(steps) == 5
    assert "ステップ 1 / 5" in body

    client.post(first, APPLICANT)
    body = page(client.get(step_url(first, "bank")))
    assert "ステップ 3 / 5" in body
    # The first step was completed: it is a link; the current one and later ones are not.
    assert f'<a href="{first}">申請者（世帯主）' in body
    assert f'<a href="{step_url(first, "bank")}"' not in body
    assert f'<a href="{step_url(first, "review")}"' not in body

    body = page(client.get(step_url(first, "review")))
    assert "ステップ 5 / 5" in body


# --- 2. bank and branch by name -------------------------------------------------------------------


def test_a_bank_is_found_by_name_and_chosen_without_javascript(
    wizard: tuple[Client, str],
) -> None:
    client, first = wizard
    client.post(first, APPLICANT)
    bank = step_url(first, "bank")
    typed = {**BANK, "account.bank_code": "", "account.branch_code": ""}

    response = client.post(
        bank, {**typed, "account.bank_query": "みついすみとも", "action": "bank_search:account"}
    )
    body = page(response)
    assert response.status_code == 200
    assert errors_of(response) == []
    assert 'name="account.bank_pick" value="0009"' in body
    assert "三井住友銀行（0009）" in body
    # Nothing typed is lost while searching.
    assert value_of(response, "account.holder_name") == "コウベ タロウ"

    response = client.post(
        bank,
        {
            **typed,
            "account.bank_pick": "0009",
            "account.branch_query": "ジンボウチョウ",
            "action": "branch_search:account",
        },
    )
    body = page(response)
    assert value_of(response, "account.bank_code") == "0009"
    assert "選択中：三井住友銀行（0009）" in body
    assert 'name="account.branch_pick" value="001"' in body
    assert "神保町支店（001）" in body

    response = client.post(
        bank, {**typed, "account.bank_code": "0009", "account.branch_pick": "001"}
    )
    assert response.status_code == 302
    review = page(client.get(step_url(first, "review")))
    assert "三井住友銀行（0009）" in review
    assert "神保町支店（001）" in review
    assert "金融機関コード 0009" not in review


def test_searching_by_katakana_and_with_the_word_bank_finds_it(
    wizard: tuple[Client, str],
) -> None:
    client, first = wizard
    bank = step_url(first, "bank")
    for query in ("ミツイスミトモ", "三井住友銀行", "ﾐﾂｲｽﾐﾄﾓ"):
        response = client.post(
            bank, {**BANK, "account.bank_query": query, "action": "bank_search:account"}
        )
        assert 'name="account.bank_pick" value="0009"' in page(response), query


def test_a_search_with_no_match_says_so(wizard: tuple[Client, str]) -> None:
    client, first = wizard
    response = client.post(
        step_url(first, "bank"),
        {**BANK, "account.bank_query": "存在しない銀行名", "action": "bank_search:account"},
    )
    assert "「存在しない銀行名」に当てはまる金融機関は見つかりませんでした。" in page(response)


def test_unknown_bank_and_branch_codes_get_a_japanese_message(wizard: tuple[Client, str]) -> None:
    client, first = wizard
    bank = step_url(first, "bank")
    response = client.post(bank, {**BANK, "account.bank_code": "0002"})
    assert response.status_code == 200
    assert errors_of(response) == [
        "金融機関コード「0002」の金融機関は見つかりません。金融機関名で検索して選んでください。"
    ]
    response = client.post(bank, {**BANK, "account.branch_code": "999"})
    assert errors_of(response) == [
        "みずほ銀行に支店コード「999」の支店は見つかりません。支店名で検索して選んでください。"
    ]
    assert value_of(response, "account.branch_code") == "999"


# --- 3. the receipt ------------------------------------------------------------------------------


def _submitted(client: Client, first: str, *, email: str = "taro@example.jp") -> Any:
    assert client.post(first, {**APPLICANT, "email": email}).status_code == 302
    assert client.post(step_url(first, "household"), {"action": "next"}).status_code == 302
    assert client.post(step_url(first, "bank"), BANK).status_code == 302
    image = SimpleUploadedFile("id.png", PNG, "image/png")
    response = client.post(
        step_url(first, "documents"), {"action": "next", "id_document": image, "agreement": "on"}
    )
    done = client.post(response["Location"])
    assert done.status_code == 302
    return client.get(done["Location"])


def test_the_receipt_has_print_date_completion_email_and_the_answers(
    wizard: tuple[Client, str], django_capture_on_commit_callbacks: Any
) -> None:
    client, first = wizard
    with django_capture_on_commit_callbacks(execute=True):
        body = page(_submitted(client, first))
    application = Application.objects.get()
    submitted = timezone.localtime(application.submitted_at)

    assert 'class="button button--secondary print-button"' in body
    assert 'media="print"' in body
    assert f"{submitted:%Y年%-m月%-d日 %H:%M}" in body
    assert application.due_date is not None
    due = application.due_date
    assert f"{due.year}年{due.month}月{due.day}日" in body
    assert "20営業日" in body
    assert len(mail.outbox) == 1
    assert "taro@example.jp あてに、受付番号と確認コードをメールでお送りしました。" in body
    assert "みずほ銀行（0001）" in body


def test_the_receipt_without_email_says_none_was_sent(
    wizard: tuple[Client, str], django_capture_on_commit_callbacks: Any
) -> None:
    client, first = wizard
    with django_capture_on_commit_callbacks(execute=True):
        body = page(_submitted(client, first, email=""))
    assert len(mail.outbox) == 0
    assert "メールアドレスの入力がなかったため、メールは送っていません。" in body


# --- 4. answering a request on the status page ---------------------------------------------------

ITEMS = "住民票の写しを添付してください。"


def _asked(tenant: Tenant, client: Client, first: str) -> tuple[Application, str]:
    body = page(_submitted(client, first))
    secret = re.search(r'id="lookup-secret">([^<]+)<', body)
    assert secret is not None
    application = Application.objects.get()
    clerk = staff_context(tenant, "clerk")
    application_transition(application=application, target="reviewing", staff=clerk)
    application_transition(
        application=application, target="more_info", staff=clerk, missing_items=ITEMS
    )
    return application, secret.group(1)


def test_an_empty_answer_is_shown_inline_on_the_result_and_keeps_the_lookup(
    tenant_a: Tenant, wizard: tuple[Client, str]
) -> None:
    client, first = wizard
    application, secret = _asked(tenant_a, client, first)
    browser = Client()
    browser.post(
        tenant_a.url("status/"),
        {"receipt_number": application.receipt_number, "secret": secret},
    )
    before = back_office_state(tenant_a.municipality)

    response = browser.post(tenant_a.url("status/respond/"), {"text": "  "})
    body = page(response)

    assert response.status_code == 400
    assert 'id="status-state"' in body  # still the result page
    assert ITEMS in body
    assert 'id="f-text-error"' in body
    assert "回答の内容を入力するか、書類を添付してください。" in body
    assert 'aria-invalid="true"' in body
    assert back_office_state(tenant_a.municipality) == before


def test_after_an_answer_the_request_box_is_gone(
    tenant_a: Tenant, wizard: tuple[Client, str]
) -> None:
    client, first = wizard
    application, secret = _asked(tenant_a, client, first)
    browser = Client()
    lookup = {"receipt_number": application.receipt_number, "secret": secret}
    assert "不足している書類をお送りください" in page(browser.post(tenant_a.url("status/"), lookup))

    response = browser.post(tenant_a.url("status/respond/"), {"text": "送ります。"})
    body = page(response)
    assert response.status_code == 200
    assert 'id="status-state"' in body
    assert "ご回答を受け付けました。担当課で確認しています。" in body
    assert "不足している書類をお送りください" not in body
    assert 'action="/kobe/status/respond/"' not in body
    assert InfoRequest.objects.get().response == "送ります。"

    body = page(browser.post(tenant_a.url("status/"), lookup))
    assert "不足している書類をお送りください" not in body
    assert "ご回答を受け付けました。担当課で確認しています。" in body


# --- 5. the access log, grouped ------------------------------------------------------------------


def test_the_access_log_is_grouped_by_day_department_and_purpose(
    tenant_a: Tenant, wizard: tuple[Client, str]
) -> None:
    client, first = wizard
    body = page(_submitted(client, first))
    secret = re.search(r'id="lookup-secret">([^<]+)<', body)
    assert secret is not None
    application = Application.objects.get()
    department = application.department
    clerk = AuditActor(user=tenant_a.staff["clerk"], department=department)
    for _ in range(14):
        audit_access(
            municipality=tenant_a.municipality,
            actor=clerk,
            purpose="申請内容の確認",
            obj=application,
        )
    audit_access(
        municipality=tenant_a.municipality, actor=clerk, purpose="振込データの作成", obj=application
    )

    body = page(
        Client().post(
            tenant_a.url("status/"),
            {"receipt_number": application.receipt_number, "secret": secret.group(1)},
        )
    )
    table = body.split('id="access-log"', 1)[1].split("</table>", 1)[0]
    rows = re.findall(r"<tr>(.*?)</tr>", table.split("<tbody>", 1)[1])
    today = timezone.localdate()
    day = f"{today.year}年{today.month}月{today.day}日"
    cells = [re.findall(r"<td>(.*?)</td>", row) for row in rows]
    assert [(c[0].startswith(day), c[1], c[2], c[3]) for c in cells] == [
        (True, department.name, "申請内容の確認", "14回"),
        (True, department.name, "振込データの作成", "1回"),
    ]


def test_the_staff_application_page_names_the_bank_and_branch(
    tenant_a: Tenant, wizard: tuple[Client, str]
) -> None:
    client, first = wizard
    _submitted(client, first)
    application = Application.objects.get()
    response = tenant_a.client("clerk").get(
        tenant_a.url(f"staff/applications/{application.receipt_number}/")
    )
    body = page(response)
    assert response.status_code == 200
    assert "みずほ銀行（0001）／東京営業部（001）／普通" in body
    # The codes stay what is stored (and exported).
    assert application.answers["account"]["bank_code"] == "0001"
    assert application.answers["account"]["branch_code"] == "001"
