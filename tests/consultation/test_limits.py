"""Rate limits on the web chat (per address and per conversation) and on LINE (per user)."""

from __future__ import annotations

import json
from types import SimpleNamespace
from typing import Any

import pytest
from django.test import Client

from madoguchi.consultation.models import Conversation, LineWebhookEvent, Message
from madoguchi.core import ratelimit
from tests.consultation.conftest import LineServer
from tests.consultation.test_line import REPLY, body_of, kobe_line, post, text_event
from tests.isolation import Tenant, snapshot

__all__ = ["kobe_line"]  # the LINE channel fixture of the webhook tests

CHAT = "/kobe/chat/"
WEB_REFUSAL = (
    "短時間に多くのメッセージが送られました。{seconds}秒ほどたってから、"
    "もう一度送信してください。入力した内容はそのまま残っています。"
)
LINE_REFUSAL = (
    "短い間にたくさんのメッセージをいただいたため、少しの間お返事を控えます。"
    "1分ほどたってから、もう一度お送りください。"
)


@pytest.fixture(autouse=True)
def _clock_in_the_middle_of_a_minute(monkeypatch: pytest.MonkeyPatch) -> None:
    """Windows are fixed minutes: a test crossing a boundary would start counting afresh."""
    monkeypatch.setattr(ratelimit, "time", SimpleNamespace(time=lambda: 1_800_000_030.0))


def stored() -> tuple[Any, ...]:
    return snapshot(Conversation.objects.all()), snapshot(Message.objects.all())


def ask(client: Client, question: str, *, fetch: bool = False) -> Any:
    headers = {"X-Requested-With": "fetch"} if fetch else {}
    return client.post(CHAT, {"action": "ask", "question": question}, headers=headers)


def test_over_the_address_limit_the_page_answers_429_and_keeps_the_question(
    kobe_kb: Tenant, settings: Any
) -> None:
    settings.CONSULTATION_CHAT_RATE_PER_CLIENT = 3
    client = Client()
    for question in ("住民票", "戸籍", "転入"):
        assert ask(client, question).status_code == 302
    before = stored()

    typed = "<b>ごみの日</b>はいつですか"
    response = ask(client, typed)

    assert response.status_code == 429
    assert response["Retry-After"] == "30"  # the rest of the minute
    body = response.content.decode()
    assert WEB_REFUSAL.format(seconds=30) in body
    assert ">&lt;b&gt;ごみの日&lt;/b&gt;はいつですか</textarea>" in body
    assert stored() == before  # nothing of the refused message is kept on the server
    # Buttons count too, and another address is not affected.
    assert client.post(CHAT, {"action": "act", "payload": "menu"}).status_code == 429
    assert ask(Client(REMOTE_ADDR="192.0.2.7"), typed).status_code == 302


def test_the_javascript_endpoint_answers_429_as_json(kobe_kb: Tenant, settings: Any) -> None:
    settings.CONSULTATION_CHAT_RATE_PER_CLIENT = 1
    client = Client()
    assert ask(client, "住民票", fetch=True).status_code == 200
    before = stored()
    response = ask(client, "戸籍", fetch=True)
    assert response.status_code == 429
    assert response["Content-Type"] == "application/json"
    assert response["Retry-After"] == "30"
    data = json.loads(response.content)
    assert data["error"] == WEB_REFUSAL.format(seconds=30)
    assert data["waiting"] is False
    assert WEB_REFUSAL.format(seconds=30) in data["html"]
    assert "<html" not in data["html"]
    assert stored() == before


def test_the_conversation_limit_holds_across_addresses(kobe_kb: Tenant, settings: Any) -> None:
    """The post that opens the conversation is not yet counted against it."""
    settings.CONSULTATION_CHAT_RATE_PER_CONVERSATION = 2
    first = Client(REMOTE_ADDR="192.0.2.1")
    assert ask(first, "住民票").status_code == 302  # opens the conversation
    assert ask(first, "戸籍").status_code == 302
    second = Client(REMOTE_ADDR="192.0.2.2")  # the same session from another address
    second.cookies = first.cookies
    assert ask(second, "転入").status_code == 302
    before = stored()
    response = ask(second, "転出")
    assert response.status_code == 429
    assert "転出</textarea>" in response.content.decode()
    assert stored() == before
    # A new visitor from the second address starts their own conversation.
    assert ask(Client(REMOTE_ADDR="192.0.2.2"), "転出").status_code == 302


def test_get_requests_and_polling_are_not_limited(kobe_kb: Tenant, settings: Any) -> None:
    settings.CONSULTATION_CHAT_RATE_PER_CLIENT = 1
    client = Client()
    for _ in range(5):
        assert client.get(CHAT, headers={"X-Requested-With": "fetch"}).status_code == 200
    assert ask(client, "住民票").status_code == 302


@pytest.mark.parametrize(
    "data",
    [{}, {"action": "ask"}, {"action": "act", "payload": "\x00" * 5000}, {"action": "nonsense"}],
)
def test_odd_posts_over_the_limit_are_refused_without_error(
    kobe_kb: Tenant, settings: Any, data: dict[str, str]
) -> None:
    settings.CONSULTATION_CHAT_RATE_PER_CLIENT = 0
    response = Client().post(CHAT, data)
    assert response.status_code == 429
    assert not Conversation.objects.exists()


def test_line_floods_get_one_polite_reply_then_silence(
    kobe_line: Tenant,
    line_server: LineServer,
    settings: Any,
    django_capture_on_commit_callbacks: Any,
) -> None:
    settings.CONSULTATION_LINE_RATE_PER_USER = 2
    for number in range(2):
        with django_capture_on_commit_callbacks(execute=True):
            assert post(body_of(text_event("住民票", event_id=f"01HOK{number}"))) == 200
    before = stored()
    for number in range(3):
        with django_capture_on_commit_callbacks(execute=True):
            assert (
                post(body_of(text_event("マイナンバー 123456789012", f"01HFLOOD{number}"))) == 200
            )

    replies = [b["messages"][0]["text"] for b in line_server.bodies(REPLY)]
    assert len(replies) == 3  # two answers and one refusal; the rest of the flood gets nothing
    assert replies[2] == LINE_REFUSAL
    assert stored() == before  # the flood's texts are not stored anywhere
    assert LineWebhookEvent.objects.filter(webhook_event_id__startswith="01HFLOOD").count() == 3


def test_line_users_are_limited_one_by_one(
    kobe_line: Tenant,
    line_server: LineServer,
    settings: Any,
    django_capture_on_commit_callbacks: Any,
) -> None:
    settings.CONSULTATION_LINE_RATE_PER_USER = 1
    other = "U" + "c" * 32
    with django_capture_on_commit_callbacks(execute=True):
        post(body_of(text_event("住民票", "01HA")))
        post(body_of(text_event("住民票", "01HB")))
        post(body_of(text_event("住民票", "01HC", user=other)))
    texts = [b["messages"][0]["text"] for b in line_server.bodies(REPLY)]
    assert texts.count(LINE_REFUSAL) == 1
    assert Conversation.objects.count() == 2
