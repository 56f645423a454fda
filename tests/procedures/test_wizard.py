"""The resident wizard over HTTP: bad input keeps everything typed, and nothing is stored twice."""

from __future__ import annotations

import base64
import datetime
import re
from typing import Any

import pytest
from django.core import mail
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.utils import timezone

from madoguchi.procedures.models import Application, Attachment, Draft

PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg=="
)
APPLICANT = {
    "action": "next",
    "name": "神戸 太郎",
    "name_kana": "ｺｳﾍﾞ ﾀﾛｳ",
    "birth_date": "昭和55年4月1日",
    "postal_code": "６５０－８５７０",
    "address": "神戸市中央区加納町6-5-1",
    "phone": "078-331-8181",
    "email": "taro@example.jp",
}
BANK = {
    "action": "next",
    "account.bank_code": "0001",
    "account.branch_code": "001",
    "account.account_type": "普通",
    "account.account_number": "1234567",
    "account.holder_name": "コウベ タロウ",
}


def step_url(first: str, step: str) -> str:
    return first.rsplit("/", 2)[0] + f"/{step}/"


def errors_of(response: Any) -> list[str]:
    html = response.content.decode()
    return re.findall(r'<p class="field__error"[^>]*>エラー：(.*?)</p>', html)


def value_of(response: Any, name: str) -> str:
    match = re.search(rf'name="{re.escape(name)}" value="([^"]*)"', response.content.decode())
    assert match is not None, f"no input {name}"
    return match.group(1)


@pytest.mark.parametrize(
    ("field", "bad", "message"),
    [
        ("name", "", "氏名を入力してください。"),
        ("name_kana", "神戸 太郎", "フリガナはカタカナで入力してください（例：ヤマダ タロウ）。"),
        ("birth_date", "令和99年1月1日", None),
        ("birth_date", "2023-02-29", None),
        ("postal_code", "650-857", None),
        ("phone", "12345", None),
        ("email", "taro@", None),
    ],
)
def test_each_bad_answer_is_explained_and_everything_else_is_kept(
    wizard: tuple[Client, str], field: str, bad: str, message: str | None
) -> None:
    """The page comes back with the field's message and every other value as typed."""
    client, first = wizard
    response = client.post(first, {**APPLICANT, field: bad})

    assert response.status_code == 200
    found = errors_of(response)
    assert len(found) == 1
    if message is not None:
        assert found == [message]
    for other in ("name", "name_kana", "birth_date", "postal_code", "address", "phone", "email"):
        if other != field:
            assert value_of(response, other) == APPLICANT[other]
    assert Application.objects.count() == 0


def test_a_bank_account_part_is_named_in_its_error(wizard: tuple[Client, str]) -> None:
    client, first = wizard
    client.post(first, APPLICANT)
    response = client.post(step_url(first, "bank"), {**BANK, "account.account_number": "123456789"})
    assert response.status_code == 200
    assert len(errors_of(response)) == 1
    assert value_of(response, "account.holder_name") == "コウベ タロウ"
    assert value_of(response, "account.bank_code") == "0001"


def test_back_and_forward_keep_what_was_typed(wizard: tuple[Client, str]) -> None:
    """Going back from a half-filled step saves it, valid or not."""
    client, first = wizard
    client.post(first, APPLICANT)
    bank = step_url(first, "bank")
    client.post(bank, {**BANK, "action": "back", "account.account_number": "12"})
    response = client.get(bank)
    assert value_of(response, "account.account_number") == "12"
    assert value_of(response, "account.holder_name") == "コウベ タロウ"
    assert value_of(client.get(first), "address") == APPLICANT["address"]


def test_a_tampered_step_is_a_japanese_404(wizard: tuple[Client, str]) -> None:
    client, first = wizard
    response = client.get(step_url(first, "no-such-step"))
    assert response.status_code == 404
    assert "このページは見つかりません。" in response.content.decode()


def test_a_draft_is_not_reachable_from_another_browser(wizard: tuple[Client, str]) -> None:
    client, first = wizard
    client.post(first, APPLICANT)
    stranger = Client()
    response = stranger.get(first)
    assert response.status_code == 404
    assert "このリンクは使えません" in response.content.decode()
    assert "神戸市中央区加納町" not in response.content.decode()


def test_a_file_that_is_not_what_it_claims_is_refused_and_nothing_stored(
    wizard: tuple[Client, str],
) -> None:
    client, first = wizard
    documents = step_url(first, "documents")
    html = SimpleUploadedFile("menkyo.jpg", b"<html><script>alert(1)</script></html>", "image/jpeg")
    response = client.post(documents, {"action": "next", "id_document": html, "agreement": "on"})
    assert response.status_code == 200
    [message] = errors_of(response)
    assert message.startswith("このファイルは受け付けられません。")
    assert Attachment.objects.count() == 0
    assert 'name="agreement" checked' in response.content.decode()


def test_an_oversized_upload_is_refused_with_the_limit(
    wizard: tuple[Client, str], settings: Any
) -> None:
    settings.UPLOAD_MAX_BYTES = 1024
    client, first = wizard
    documents = step_url(first, "documents")
    big = SimpleUploadedFile("big.png", PNG + b"\0" * 4096, "image/png")
    client.post(documents, {"action": "save", "agreement": "on"})  # ticked earlier
    response = client.post(documents, {"action": "next", "id_document": big, "agreement": "on"})
    assert response.status_code == 200
    assert errors_of(response) == ["ファイルが大きすぎます。1MB以下にしてください。"]
    assert Attachment.objects.count() == 0
    assert 'name="agreement" checked' in response.content.decode()


def _complete(client: Client, first: str) -> str:
    assert client.post(first, APPLICANT).status_code == 302
    assert client.post(step_url(first, "household"), {"action": "next"}).status_code == 302
    assert client.post(step_url(first, "bank"), BANK).status_code == 302
    image = SimpleUploadedFile("id.png", PNG, "image/png")
    response = client.post(
        step_url(first, "documents"), {"action": "next", "id_document": image, "agreement": "on"}
    )
    assert response.status_code == 302
    return str(response["Location"])


def test_a_double_click_submit_stores_one_application(wizard: tuple[Client, str]) -> None:
    client, first = wizard
    review = _complete(client, first)
    first_submit = client.post(review)
    second_submit = client.post(review)
    assert first_submit.status_code == second_submit.status_code == 302
    assert first_submit["Location"] == second_submit["Location"]
    assert Application.objects.count() == 1
    done = client.get(first_submit["Location"]).content.decode()
    assert 'id="receipt-number"' in done


def test_review_refuses_to_submit_an_incomplete_draft(wizard: tuple[Client, str]) -> None:
    client, first = wizard
    client.post(first, APPLICANT)
    review = step_url(first, "review")
    response = client.post(review)
    assert response.status_code == 200
    assert "まだ入力が終わっていない項目があります" in response.content.decode()
    assert Application.objects.count() == 0


def test_save_sends_a_resume_link_that_reopens_the_draft_elsewhere(
    wizard: tuple[Client, str], django_capture_on_commit_callbacks: Any
) -> None:
    client, first = wizard
    client.post(first, APPLICANT)
    save = step_url(first, "save")
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(save, {"email": "ｔａｒｏ＠example.jp"})
    assert "に送りました" in response.content.decode()
    [message] = mail.outbox
    link = re.search(r"(http://\S+/apply/resume/\S+/)", message.body)
    assert link is not None
    other = Client()
    resumed = other.get(link.group(1).split("8000", 1)[1])
    assert resumed.status_code == 302
    assert resumed["Location"].endswith("/household/")
    assert value_of(other.get(first), "address") == APPLICANT["address"]


def test_an_expired_resume_link_says_so(
    wizard: tuple[Client, str], django_capture_on_commit_callbacks: Any
) -> None:
    client, first = wizard
    client.post(first, APPLICANT)
    with django_capture_on_commit_callbacks(execute=True):
        client.post(step_url(first, "save"), {"email": "taro@example.jp"})
    link = re.search(r"/kobe/apply/resume/\S+/", mail.outbox[0].body)
    assert link is not None
    Draft.objects.update(expires_at=timezone.now() - datetime.timedelta(minutes=1))
    response = Client().get(link.group(0))
    assert response.status_code == 410
    assert "このリンクは使えません" in response.content.decode()


def test_a_receipt_with_one_wrong_digit_is_caught_before_any_lookup(
    wizard: tuple[Client, str],
) -> None:
    client, first = wizard
    review = _complete(client, first)
    client.post(review)
    receipt = Application.objects.get().receipt_number
    typo = receipt[:-1] + str((int(receipt[-1]) + 1) % 10)
    response = Client().post("/kobe/status/", {"receipt_number": typo, "secret": "ACDEFGHJ"})
    assert response.status_code == 200
    assert "受付番号に入力の誤りがあるようです" in response.content.decode()
