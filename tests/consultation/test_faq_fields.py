"""FAQ entries with a one-line direct answer and English text: storing, CSV, console, replies.

A direct answer is shown first and the detail after (web: apart, LINE: first in the message). A
question written in English, or a chat shown in English, gets the entry's English text, or the
Japanese text with a note that it is only in Japanese. Contact points are named in answers by
{contact:key} and rendered with the current number.
"""

from __future__ import annotations

import csv
import io
import re
from typing import Any

import pytest
from django.test import Client

from madoguchi.audit.services import AuditActor
from madoguchi.consultation.assistant import (
    assistant_handle_action,
    assistant_handle_text,
    conversation_open,
)
from madoguchi.consultation.csvio import faq_export_csv, faq_import_csv
from madoguchi.consultation.errors import ConsultationError
from madoguchi.consultation.language import question_language
from madoguchi.consultation.models import Channel, FaqEntry, Message, Sender
from madoguchi.consultation.services import FaqData, faq_entry_save
from madoguchi.tenants.contacts import ContactInput, contact_point_save
from tests.consultation.conftest import LineServer
from tests.consultation.test_line import (  # noqa: F401 (kobe_line is a fixture)
    REPLY,
    body_of,
    kobe_line,
    post,
    text_event,
)
from tests.consultation.test_web_chat import ask, page
from tests.isolation import Tenant, snapshot

ACTOR = AuditActor(label="test")
PAYDAY_LEAD = "児童手当は偶数月（2月・4月・6月・8月・10月・12月）の各10日に振り込まれます。"
PAYDAY_LEAD_EN = (
    "The child allowance is paid on the 10th of February, April, June, August, October and "
    "December."
)
ONLY_JAPANESE = "This answer is only available in Japanese."


def _data(**changes: Any) -> FaqData:
    fields: dict[str, Any] = {
        "code": "gomi",
        "category": "ごみ",
        "question": "粗大ごみの出し方",
        "answer": "事前に申し込んでください。",
    }
    return FaqData(**(fields | changes))


# --- language of a question ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "language"),
    [
        ("When is the child allowance paid?", "en"),
        ("how do i get a my number card", "en"),
        ("How do I get a 住民票?", "en"),
        ("児童手当はいつ振り込まれますか", "ja"),
        ("PCリサイクルのパソコンの捨て方", "ja"),
        ("LINEで防災情報を受け取りたい", "ja"),
        ("ok", "ja"),
        ("", "ja"),
    ],
)
def test_the_language_of_a_question_is_told_by_its_script(text: str, language: str) -> None:
    assert question_language(text) == language


# --- storing -------------------------------------------------------------------------------------


@pytest.mark.parametrize("text", ["1234567890 ABCD-EFGH", "12345-67890 abcd-efgh"])
def test_a_receipt_number_and_secret_alone_are_answered_in_japanese(
    tenant_a: Tenant, text: str
) -> None:
    conversation = conversation_open(municipality=tenant_a.municipality, channel=Channel.LINE)
    reply = assistant_handle_text(conversation=conversation, text=text)
    assert question_language(reply.text) == "ja", reply.text


def test_an_entry_keeps_its_direct_answer_and_english_text(tenant_a: Tenant) -> None:
    entry = faq_entry_save(
        municipality=tenant_a.municipality,
        data=_data(
            direct_answer="申込制です。\n処理券を貼って出します。",
            question_en="  How do I throw away  large items? ",
            alternatives_en=("Sofa disposal", "", "Sofa disposal"),
            answer_en="Book a collection first.\r\nThen attach a ticket.",
            direct_answer_en="Book first.",
        ),
        actor=ACTOR,
    )
    entry.refresh_from_db()
    assert entry.direct_answer == "申込制です。 処理券を貼って出します。"  # one line
    assert entry.question_en == "How do I throw away large items?"
    assert entry.alternatives_en == ["Sofa disposal"]
    assert entry.answer_en == "Book a collection first.\nThen attach a ticket."
    assert entry.direct_answer_en == "Book first."


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"direct_answer": "あ" * 201}, "一行回答は200文字以内で入力してください。"),
        ({"question_en": "a" * 201}, "英語の質問は200文字以内で入力してください。"),
        ({"answer_en": "a" * 4001}, "英語の回答は4,000文字以内で入力してください。"),
        (
            {"alternatives_en": tuple(f"way {i}" for i in range(21))},
            "英語の言い換えは20個まで、それぞれ200文字以内で入力してください。",
        ),
        (
            {"direct_answer_en": "Book first."},
            "英語の一行回答を使うときは、英語の回答も入力してください。",
        ),
    ],
)
def test_bad_new_fields_are_refused_and_nothing_is_stored(
    tenant_a: Tenant, changes: dict[str, Any], message: str
) -> None:
    with pytest.raises(ConsultationError) as caught:
        faq_entry_save(municipality=tenant_a.municipality, data=_data(**changes), actor=ACTOR)
    assert message in caught.value.errors
    assert not FaqEntry.objects.exists()


# --- CSV -----------------------------------------------------------------------------------------

OLD_HEADER = "管理番号,分類,担当部署コード,質問,言い換え,回答,掲載開始日,掲載終了日,公開\r\n"
NEW_HEADER = OLD_HEADER.rstrip("\r\n") + (
    ",一行回答,質問（英語）,言い換え（英語）,回答（英語）,一行回答（英語）\r\n"
)


def test_csv_carries_the_direct_answer_and_english_columns(tenant_a: Tenant) -> None:
    body = NEW_HEADER + (
        "gomi,ごみ,,粗大ごみの出し方,,事前に申し込んでください。,,,1,申込制です。,"
        '"How do I throw away large items?",Sofa disposal | Bulky waste,'
        '"Book a collection first.\nThen attach a ticket.",Book first.\r\n'
    )
    report = faq_import_csv(municipality=tenant_a.municipality, raw=body.encode(), actor=ACTOR)
    assert report.created == 1
    entry = FaqEntry.objects.get()
    assert (entry.direct_answer, entry.question_en, entry.direct_answer_en) == (
        "申込制です。",
        "How do I throw away large items?",
        "Book first.",
    )
    assert entry.alternatives_en == ["Sofa disposal", "Bulky waste"]
    assert entry.answer_en == "Book a collection first.\nThen attach a ticket."
    exported = faq_export_csv(municipality=tenant_a.municipality).decode("utf-8-sig")
    header, row = list(csv.reader(io.StringIO(exported)))
    assert header[-5:] == [
        "一行回答",
        "質問（英語）",
        "言い換え（英語）",
        "回答（英語）",
        "一行回答（英語）",
    ]
    assert row[-5:] == [
        "申込制です。",
        "How do I throw away large items?",
        "Sofa disposal | Bulky waste",
        "Book a collection first.\nThen attach a ticket.",
        "Book first.",
    ]
    again = faq_import_csv(municipality=tenant_a.municipality, raw=exported.encode(), actor=ACTOR)
    assert (again.created, again.updated, again.unchanged) == (0, 0, 1)


def test_english_headers_typed_with_half_width_brackets_are_read(tenant_a: Tenant) -> None:
    body = OLD_HEADER.rstrip("\r\n") + ",質問(英語),回答(英語)\r\n"
    body += "gomi,ごみ,,粗大ごみの出し方,,事前に申し込んでください。,,,1,Large items?,Book.\r\n"
    faq_import_csv(municipality=tenant_a.municipality, raw=body.encode(), actor=ACTOR)
    entry = FaqEntry.objects.get()
    assert (entry.question_en, entry.answer_en) == ("Large items?", "Book.")


def test_an_old_csv_without_the_new_columns_imports_and_keeps_what_is_stored(
    tenant_a: Tenant,
) -> None:
    faq_entry_save(
        municipality=tenant_a.municipality,
        data=_data(direct_answer="申込制です。", question_en="Large items?", answer_en="Book."),
        actor=ACTOR,
    )
    body = OLD_HEADER + (
        "gomi,ごみ,,粗大ごみの出し方,,事前に申し込んでください（変更）。,,,1\r\n"
        "new,ごみ,,缶の出し方,,水曜日です。,,,1\r\n"
    )
    report = faq_import_csv(municipality=tenant_a.municipality, raw=body.encode(), actor=ACTOR)
    assert (report.created, report.updated) == (1, 1)
    kept = FaqEntry.objects.get(code="gomi")
    assert kept.answer == "事前に申し込んでください（変更）。"
    assert (kept.direct_answer, kept.question_en, kept.answer_en) == (
        "申込制です。",
        "Large items?",
        "Book.",
    )
    new = FaqEntry.objects.get(code="new")
    assert (new.direct_answer, new.question_en, new.answer_en) == ("", "", "")


def test_a_csv_row_with_a_too_long_direct_answer_is_named_and_nothing_is_stored(
    tenant_a: Tenant,
) -> None:
    body = NEW_HEADER + (
        "ok,ごみ,,缶の出し方,,水曜日です。,,,1,,,,,\r\n"
        f"long,ごみ,,びんの出し方,,水曜日です。,,,1,{'あ' * 201},,,,\r\n"
    )
    before = snapshot(FaqEntry.objects.all())
    with pytest.raises(ConsultationError) as caught:
        faq_import_csv(municipality=tenant_a.municipality, raw=body.encode(), actor=ACTOR)
    assert "3行目：一行回答は200文字以内で入力してください。" in caught.value.errors
    assert snapshot(FaqEntry.objects.all()) == before


# --- console -------------------------------------------------------------------------------------


def _form(**changes: str) -> dict[str, str]:
    return {
        "code": "gomi",
        "category": "ごみ",
        "department": "",
        "question": "粗大ごみの出し方",
        "alternatives": "",
        "direct_answer": "申込制です。",
        "answer": "事前に申し込んでください。",
        "question_en": "How do I throw away large items?",
        "alternatives_en": "Sofa disposal\nBulky waste",
        "direct_answer_en": "Book first.",
        "answer_en": "Book a collection first.",
        "is_published": "on",
    } | changes


def test_the_console_form_edits_the_direct_answer_and_english_text(tenant_a: Tenant) -> None:
    client = tenant_a.client("admin")
    url = f"/{tenant_a.municipality.slug}/chat/staff/faq/new/"
    form_page = client.get(url).content.decode()
    for name in (
        "direct_answer",
        "question_en",
        "alternatives_en",
        "answer_en",
        "direct_answer_en",
    ):
        assert f'name="{name}"' in form_page
    response = client.post(url, _form())
    assert response.status_code == 302
    entry = FaqEntry.objects.get()
    assert entry.direct_answer == "申込制です。"
    assert entry.alternatives_en == ["Sofa disposal", "Bulky waste"]
    edit = client.get(f"/{tenant_a.municipality.slug}/chat/staff/faq/{entry.pk}/").content.decode()
    assert "Book a collection first." in edit
    assert 'value="Book first."' in edit


@pytest.mark.parametrize(
    "changes",
    [
        {"direct_answer": "あ" * 201},
        {"answer_en": "", "direct_answer_en": "Book first."},
        {"alternatives_en": "\n".join(f"way {i}" for i in range(21))},
    ],
)
def test_bad_console_input_is_refused_with_a_message_and_kept(
    tenant_a: Tenant, changes: dict[str, str]
) -> None:
    client = tenant_a.client("admin")
    response = client.post(f"/{tenant_a.municipality.slug}/chat/staff/faq/new/", _form(**changes))
    assert response.status_code in {200, 400}
    body = response.content.decode()
    assert "How do I throw away large items?" in body  # what was typed is still there
    assert not FaqEntry.objects.exists()


def test_the_try_page_shows_the_answer_an_english_question_gets(kobe_kb: Tenant) -> None:
    client = kobe_kb.client("admin")
    body = client.get(
        "/kobe/chat/staff/faq/try/", {"q": "When is the child allowance paid?"}
    ).content.decode()
    assert PAYDAY_LEAD_EN in body
    japanese = client.get("/kobe/chat/staff/faq/try/", {"q": "児童手当の振込日"}).content.decode()
    assert PAYDAY_LEAD in japanese


# --- replies: web --------------------------------------------------------------------------------


def _lead(body: str) -> str:
    found = re.findall(r'<p class="chat__lead">(.*?)</p>', body, re.S)
    assert found, "no direct answer shown"
    return found[-1].strip()


def test_the_web_chat_shows_the_direct_answer_first_and_the_detail_after(kobe_kb: Tenant) -> None:
    client = Client()
    ask(client, "児童手当はいつ振り込まれますか")
    body = page(client)
    assert _lead(body) == PAYDAY_LEAD
    assert body.index(PAYDAY_LEAD) < body.index("前月までの2か月分を振り込みます")
    answer = Message.objects.get(sender=Sender.ASSISTANT)
    assert answer.text.splitlines()[0] == PAYDAY_LEAD


def test_an_entry_without_a_direct_answer_is_shown_as_before(kobe_kb: Tenant) -> None:
    client = Client()
    ask(client, "ごみの収集日はいつですか")
    body = page(client)
    assert 'class="chat__lead"' not in body
    answer = Message.objects.get(sender=Sender.ASSISTANT)
    assert answer.text.startswith("ごみの収集日は地域によって異なります。")


def test_an_english_question_gets_the_english_answer(kobe_kb: Tenant) -> None:
    client = Client()
    ask(client, "When does the child allowance get paid into my account?")
    body = page(client)
    assert _lead(body) == PAYDAY_LEAD_EN
    assert "for the two preceding months" in body
    answer = Message.objects.get(sender=Sender.ASSISTANT)
    assert answer.entry is not None
    assert answer.entry.code == "jido-teate-shikyubi"
    assert "Helpful" in body  # the buttons speak English too


def test_an_english_question_without_english_text_gets_japanese_with_a_note(
    kobe_kb: Tenant,
) -> None:
    FaqEntry.objects.filter(code="jido-teate-shikyubi").update(answer_en="", direct_answer_en="")
    client = Client()
    ask(client, "When does the child allowance get paid into my account?")
    body = page(client)
    answer = Message.objects.get(sender=Sender.ASSISTANT)
    assert answer.text.startswith(ONLY_JAPANESE + "\n\n" + PAYDAY_LEAD)
    assert body.index(ONLY_JAPANESE) < body.index(PAYDAY_LEAD)


def test_the_chat_shown_in_english_prefers_english_text(kobe_kb: Tenant) -> None:
    client = Client()
    client.cookies["django_language"] = "en"
    ask(client, "児童手当はいつ振り込まれますか")
    assert _lead(page(client)) == PAYDAY_LEAD_EN


def test_a_candidate_pressed_after_an_english_question_is_answered_in_english(
    kobe_kb: Tenant,
) -> None:
    conversation = conversation_open(municipality=kobe_kb.municipality, channel=Channel.WEB)
    assistant_handle_text(conversation=conversation, text="please help me with something")
    entry = FaqEntry.objects.get(municipality=kobe_kb.municipality, code="jido-teate-shikyubi")
    reply = assistant_handle_action(conversation=conversation, payload=f"faq:{entry.pk}")
    assert reply.lead == PAYDAY_LEAD_EN
    question = Message.objects.filter(sender=Sender.RESIDENT).order_by("-pk").first()
    assert question is not None
    assert question.text == entry.question_en


def test_a_changed_phone_number_shows_in_every_answer_naming_the_contact(kobe_kb: Tenant) -> None:
    municipality = kobe_kb.municipality
    contact_point_save(
        municipality=municipality,
        key="sodai_gomi",
        data=ContactInput(name="粗大ごみ受付センター", phone="078-111-1111"),
        actor=ACTOR,
    )
    contact_point_save(
        municipality=municipality,
        key="sodai_gomi",
        data=ContactInput(name="粗大ごみ受付センター", phone="078-222-2222"),
        actor=ACTOR,
    )
    for question in ("粗大ごみを出したい", "How do I get rid of large (oversized) garbage?"):
        conversation = conversation_open(municipality=municipality, channel=Channel.WEB)
        reply = assistant_handle_text(conversation=conversation, text=question)
        assert "078-222-2222" in reply.text, question
        assert "078-111-1111" not in reply.text
        assert "{contact:" not in reply.text


# --- replies: LINE -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("question", "first_line"),
    [
        ("児童手当はいつ振り込まれますか", PAYDAY_LEAD),
        ("When is the child allowance paid?", PAYDAY_LEAD_EN),
    ],
)
@pytest.mark.usefixtures("kobe_line")
def test_line_gives_the_direct_answer_first_in_the_same_message(
    line_server: LineServer,
    django_capture_on_commit_callbacks: Any,
    question: str,
    first_line: str,
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        assert post(body_of(text_event(question))) == 200
    [body] = line_server.bodies(REPLY)
    [message] = body["messages"]
    lines = message["text"].splitlines()
    assert lines[0] == first_line
    assert len(lines) > 2  # the detail follows in the same message


@pytest.mark.usefixtures("kobe_line")
def test_line_answers_an_english_question_without_english_text_with_a_note(
    line_server: LineServer, django_capture_on_commit_callbacks: Any
) -> None:
    FaqEntry.objects.filter(code="jido-teate-shikyubi").update(answer_en="", direct_answer_en="")
    with django_capture_on_commit_callbacks(execute=True):
        assert post(body_of(text_event("When is the child allowance paid?"))) == 200
    [body] = line_server.bodies(REPLY)
    text = body["messages"][0]["text"]
    assert text.startswith(ONLY_JAPANESE)
    assert PAYDAY_LEAD in text
