"""The web chat: answers, candidates, refusals, escaping, and hand-over to staff and back."""

from __future__ import annotations

import json
import re

import pytest
from django.test import Client

from madoguchi.audit.models import AuditEntry, EntryKind
from madoguchi.consultation.models import (
    Conversation,
    ConversationState,
    FaqEntry,
    Message,
    Sender,
)
from tests.isolation import Tenant, assert_cannot_read

CHAT = "/kobe/chat/"


def page(client: Client) -> str:
    response = client.get(CHAT)
    assert response.status_code == 200
    return response.content.decode()


def ask(client: Client, question: str) -> int:
    return client.post(CHAT, {"action": "ask", "question": question}).status_code


def test_the_chat_page_offers_the_guides_without_javascript(kobe_kb: Tenant) -> None:
    body = page(Client())
    assert "神戸市の相談窓口です。" in body
    assert 'name="payload" value="scenario:fever-triage"' in body
    assert 'name="payload" value="handover"' in body
    assert "madoguchi/js/chat.js" in body


def test_a_question_is_answered_with_feedback_buttons(kobe_kb: Tenant) -> None:
    client = Client()
    assert ask(client, "個人番号カードを作りたい") == 302
    body = page(client)
    assert "スマートフォン・パソコン・郵送・まちなかの証明写真機から申請できます" in body
    assert "役に立った" in body
    [answer] = Message.objects.filter(sender=Sender.ASSISTANT, outcome="answered")
    assert answer.entry is not None
    assert answer.entry.code == "mynumber-shinsei"
    client.post(CHAT, {"action": "act", "payload": f"feedback:{answer.pk}:0"})
    answer.refresh_from_db()
    assert answer.helpful is False
    assert answer.entry.unhelpful_count == 1
    assert "お役に立てず申し訳ありません" in page(client)


def test_an_unclear_question_offers_candidates_and_a_person(kobe_kb: Tenant) -> None:
    client = Client()
    ask(client, "自転車を処分")
    body = page(client)
    assert "もしかして、次のどれかですか。" in body
    assert "粗大ごみを出すにはどうすればよいですか" in body
    assert 'value="handover"' in body
    assert 'value="scenario:sodai-gomi"' in body  # 自転車 is a keyword of the bulky-waste guide


@pytest.mark.parametrize(
    ("question", "message"),
    [("", "質問を入力してください。"), ("   \u3000 ", "質問を入力してください。")],
)
def test_empty_questions_are_refused_and_nothing_is_stored(
    kobe_kb: Tenant, question: str, message: str
) -> None:
    response = Client().post(CHAT, {"action": "ask", "question": question})
    assert response.status_code == 400
    assert message in response.content.decode()
    assert not Conversation.objects.exists()
    assert not Message.objects.exists()


def test_a_2000_character_question_is_refused_and_kept_in_the_form(kobe_kb: Tenant) -> None:
    client = Client()
    response = client.post(CHAT, {"action": "ask", "question": "ご" * 2000})
    assert response.status_code == 400
    assert not Conversation.objects.exists()  # no conversation opened for a refused message
    ask(client, "住民票")
    before = Message.objects.count()
    long_text = "ご" * 2000
    response = client.post(CHAT, {"action": "ask", "question": long_text})
    assert response.status_code == 400
    body = response.content.decode()
    assert "質問は1000文字以内で入力してください（今は2000文字です）。" in body
    assert f">{long_text}</textarea>" in body
    assert Message.objects.count() == before


def test_html_and_emoji_are_shown_escaped(kobe_kb: Tenant) -> None:
    client = Client()
    assert ask(client, "<script>alert('x')</script> 😀 住民票") == 302
    body = page(client)
    assert "<script>alert" not in body
    assert "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt; 😀 住民票" in body


def test_javascript_gets_the_conversation_as_an_html_fragment(kobe_kb: Tenant) -> None:
    client = Client()
    response = client.post(
        CHAT,
        {"action": "ask", "question": "粗大ごみの申し込み方"},
        headers={"X-Requested-With": "fetch"},
    )
    assert response.status_code == 200
    data = json.loads(response.content)
    assert data["waiting"] is False
    assert "一辺が30cmを超える家具や自転車など" in data["html"]
    assert "<html" not in data["html"]


def test_hand_over_from_web_to_staff_inbox_and_back(kobe_kb: Tenant) -> None:
    resident = Client()
    ask(resident, "マイナンバーカードをなくした")
    resident.post(CHAT, {"action": "act", "payload": "handover"})
    conversation = Conversation.objects.get()
    assert conversation.state == ConversationState.WAITING
    assert conversation.department is not None
    assert conversation.department.code == "shimin"
    assert "市民課の担当者におつなぎします。" in page(resident)
    ask(resident, "カードの再発行に写真は要りますか")
    assert Message.objects.filter(sender=Sender.RESIDENT).count() == 3

    admin = kobe_kb.client("admin")
    inbox = admin.get("/kobe/chat/staff/").content.decode()
    url = f"/kobe/chat/staff/conversations/{conversation.pk}/"
    assert url in inbox
    detail = admin.get(url)
    assert "カードの再発行に写真は要りますか" in detail.content.decode()
    access = AuditEntry.objects.filter(kind=EntryKind.ACCESS, object_id=str(conversation.pk))
    assert [(a.action, a.purpose, a.actor_label) for a in access] == [
        ("view", "相談への対応", "kobe-admin")
    ]
    assert admin.post(url, {"text": "写真は不要です。窓口でお待ちしています。"}).status_code == 302
    conversation.refresh_from_db()
    assert conversation.state == ConversationState.ANSWERED
    assert "写真は不要です。窓口でお待ちしています。" in page(resident)
    assert AuditEntry.objects.filter(action="consultation.reply").count() == 1


def test_staff_of_other_departments_and_municipalities_cannot_read(
    kobe_kb: Tenant, tenant_b: Tenant
) -> None:
    resident = Client()
    ask(resident, "マイナンバーカードをなくした")
    resident.post(CHAT, {"action": "act", "payload": "handover"})
    conversation = Conversation.objects.get()
    url = f"/kobe/chat/staff/conversations/{conversation.pk}/"
    secret = "マイナンバーカードをなくした"
    # welfare's clerk does not handle 市民課's conversations
    assert (
        str(conversation.pk)
        not in kobe_kb.client("clerk").get("/kobe/chat/staff/").content.decode()
    )
    assert_cannot_read(kobe_kb.client("clerk"), url, must_not_contain=[secret])
    # 佐用町's staff reach neither 神戸市's pages nor its conversation through their own URL
    for role in ("admin", "clerk"):
        assert_cannot_read(tenant_b.client(role), url, must_not_contain=[secret])
        assert_cannot_read(
            tenant_b.client(role),
            f"/sayo/chat/staff/conversations/{conversation.pk}/",
            must_not_contain=[secret],
        )
        assert_cannot_read(tenant_b.client(role), "/kobe/chat/staff/faq/")
        assert_cannot_read(tenant_b.client(role), "/kobe/chat/staff/learning/")
        assert_cannot_read(tenant_b.client(role), "/kobe/chat/staff/faq/export.csv")
    assert (
        str(conversation.pk)
        not in tenant_b.client("admin").get("/sayo/chat/staff/").content.decode()
    )
    assert not AuditEntry.objects.filter(kind=EntryKind.ACCESS).exists()


def test_a_resident_cannot_open_another_session_s_conversation(kobe_kb: Tenant) -> None:
    first = Client()
    ask(first, "マイナンバーカードをなくした")
    other = Client()
    assert "マイナンバーカードをなくした" not in page(other)


def test_a_malformed_conversation_id_is_not_found(kobe_kb: Tenant) -> None:
    admin = kobe_kb.client("admin")
    assert admin.get("/kobe/chat/staff/conversations/not-a-uuid/").status_code == 404
    client = Client()
    session = client.session
    session["madoguchi_chat"] = {"kobe": "not-a-uuid"}
    session.save()
    assert client.get(CHAT).status_code == 200


@pytest.mark.parametrize(
    ("question", "first_line_says"),
    [
        ("児童手当はいつ振り込まれますか", "偶数月"),
        ("児童手当の支給日を知りたい", "偶数月"),
        ("児童手当はいくらもらえますか", "月15,000円"),
        ("児童手当の申請をしたい", "15日以内"),
    ],
)
def test_the_first_line_of_an_answer_answers_the_question_asked(
    kobe_kb: Tenant, question: str, first_line_says: str
) -> None:
    client = Client()
    ask(client, question)
    answer = Message.objects.get(sender=Sender.ASSISTANT)
    assert answer.outcome == "answered"
    assert first_line_says in answer.text.splitlines()[0]


def _handed_over_on_the_web(client: Client) -> Conversation:
    ask(client, "マイナンバーカードをなくした")
    client.post(CHAT, {"action": "act", "payload": "handover"})
    return Conversation.objects.get()


def _continue_link(body: str) -> str:
    found = re.findall(r'href="(?:http://[^/"]+)?(/kobe/chat/continue/[^"/]+/)"', body)
    assert found, "no link back to the conversation"
    return found[0]


def test_a_resident_handed_over_is_given_a_link_back_to_the_conversation(kobe_kb: Tenant) -> None:
    resident = Client()
    conversation = _handed_over_on_the_web(resident)
    body = page(resident)
    assert "この相談に戻るためのリンク" in body
    link = _continue_link(body)
    assert str(conversation.pk) not in link  # the link is signed, not the bare id

    # Later, on another device (no session): the link opens the same conversation.
    later = Client()
    response = later.get(link)
    assert response.status_code == 302
    assert response["Location"] == CHAT
    assert "マイナンバーカードをなくした" in page(later)
    ask(later, "再発行の手数料はいくらですか")
    assert Conversation.objects.count() == 1
    asked = Message.objects.filter(conversation=conversation, sender=Sender.RESIDENT)
    assert "再発行の手数料はいくらですか" in [m.text for m in asked]


@pytest.mark.parametrize("token", ["x", "abc:def:ghi", "a" * 300])
def test_a_broken_link_back_says_so_and_opens_nothing(kobe_kb: Tenant, token: str) -> None:
    resident = Client()
    _handed_over_on_the_web(Client())
    response = resident.get(f"/kobe/chat/continue/{token}/")
    assert response.status_code == 404
    assert "このリンクは使えません" in response.content.decode()
    assert "マイナンバーカードをなくした" not in page(resident)


def test_a_link_back_opens_nothing_in_another_municipality(
    kobe_kb: Tenant, tenant_b: Tenant
) -> None:
    resident = Client()
    _handed_over_on_the_web(resident)
    link = _continue_link(page(resident))
    other = Client()
    response = other.get(link.replace("/kobe/", "/sayo/"))
    assert response.status_code == 404
    assert "マイナンバーカードをなくした" not in other.get("/sayo/chat/").content.decode()


# --- our wording in the reader's language, the municipality's data as typed ---------------------


def _in_english(client: Client) -> Client:
    client.cookies["django_language"] = "en"
    return client


def test_the_welcome_in_english_marks_only_the_municipality_s_name_as_japanese(
    kobe_kb: Tenant,
) -> None:
    body = page(_in_english(Client()))
    assert 'This is the help desk of <span lang="ja">神戸市</span>. Send your question' in body
    assert "の相談窓口です" not in body


def test_a_hand_over_made_in_japanese_reads_in_english_after_switching(kobe_kb: Tenant) -> None:
    """The stored message keeps the Japanese it was sent in (for staff and LINE); the page
    shows our wording in the reader's language and the department's name as typed data."""
    resident = Client()
    conversation = _handed_over_on_the_web(resident)
    handover = Message.objects.get(
        conversation=conversation, outcome="handover", sender="assistant"
    )
    assert handover.text.startswith("市民課の担当者におつなぎします。")
    assert "このページを閉じても" in handover.text

    body = page(_in_english(resident))
    assert (
        'We are connecting you with a person at <span lang="ja">市民課</span>. Please go on' in body
    )
    assert "(weekdays 8:45–17:30). Even after closing this page" in body
    assert "担当者におつなぎします" not in body

    resident.cookies["django_language"] = "ja"
    assert handover.text in page(resident)  # in Japanese, word for word as before


def test_an_answer_in_english_shows_the_faq_answer_as_japanese_data(kobe_kb: Tenant) -> None:
    """An entry the municipality wrote only in Japanese: our note in English, its text as
    Japanese data."""
    FaqEntry.objects.filter(municipality__slug="kobe").update(answer_en="", direct_answer_en="")
    client = _in_english(Client())
    ask(client, "個人番号カードを作りたい")
    [answer] = Message.objects.filter(sender=Sender.ASSISTANT, outcome="answered")
    note, *typed = answer.extras["parts"]
    assert note == ["fixed", "この回答は日本語のみです。"]
    assert typed
    assert all(kind == "typed" for kind, _text in typed)
    body = page(client)
    assert "This answer is only available in Japanese." in body
    assert re.search(
        r'<p class="chat__text[^"]*"><span lang="ja">[^<]*スマートフォン・パソコン・郵送', body
    )
    assert 'value="feedback:' in body
    assert ">Helpful<" in body


def test_a_message_stored_without_parts_or_with_unreadable_ones_shows_its_text(
    kobe_kb: Tenant,
) -> None:
    """Conversations stored before parts existed, or whose parts cannot be read, stay
    readable as they were stored."""
    client = Client()
    conversation = _handed_over_on_the_web(client)
    handover = Message.objects.get(
        conversation=conversation, outcome="handover", sender="assistant"
    )
    for parts in (None, [["fixed"]], [["typed", "a", "b"]], [["fixed", "x", "name", "odd", "y"]]):
        extras = {k: v for k, v in handover.extras.items() if k != "parts"}
        if parts is not None:
            extras["parts"] = parts
        Message.objects.filter(pk=handover.pk).update(extras=extras)
        body = page(_in_english(client))
        assert "市民課の担当者におつなぎします。" in body
