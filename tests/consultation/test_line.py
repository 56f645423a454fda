"""The LINE webhook, driven with the official SDK's event models and a recording API server."""

from __future__ import annotations

import base64
import hashlib
import hmac
from typing import Any

import pytest
from django.test import Client
from linebot.v3.webhooks import (
    CallbackRequest,
    DeliveryContext,
    FollowDetail,
    FollowEvent,
    MessageEvent,
    PostbackContent,
    PostbackEvent,
    StickerMessageContent,
    TextMessageContent,
    UserSource,
)

from madoguchi.audit.services import AuditActor
from madoguchi.consultation.handover import staff_reply
from madoguchi.consultation.models import (
    Conversation,
    ConversationState,
    LineChannel,
    LineWebhookEvent,
    Message,
    Sender,
)
from madoguchi.consultation.services import line_channel_save
from tests.consultation.conftest import LineServer
from tests.isolation import Tenant, snapshot

SECRET = "kobe-channel-secret"
TOKEN = "kobe-access-token"
USER = "U4af4980629aaaaaaaaaaaaaaaaaaaaaa"
WEBHOOK = "/kobe/line/webhook"
REPLY = "/v2/bot/message/reply"
PUSH = "/v2/bot/message/push"


def signature(body: bytes, secret: str = SECRET) -> str:
    return base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest()).decode()


def test_the_signature_matches_the_published_vector() -> None:
    assert signature(b"bodybodybodybody", "channel_secret") == (
        "/gg9a+LvFevTH1sd7XCQycD7tsWclCsInj7MhBHxN7k="
    )


def _common(event_id: str, redelivery: bool = False, user: str = USER) -> dict[str, Any]:
    return {
        "source": UserSource(type="user", userId=user),
        "timestamp": 1767225600000,
        "mode": "active",
        "webhookEventId": event_id,
        "deliveryContext": DeliveryContext(isRedelivery=redelivery),
        "replyToken": f"reply-{event_id}",
    }


def text_event(text: str, event_id: str = "01HTEXT", **kwargs: Any) -> MessageEvent:
    return MessageEvent(
        type="message",
        message=TextMessageContent(type="text", id="468789577898262530", text=text, quoteToken="q"),
        **_common(event_id, **kwargs),
    )


def body_of(*events: Any) -> bytes:
    return CallbackRequest(destination="U" + "b" * 32, events=list(events)).to_json().encode()


def post(body: bytes, sig: str | None = "auto", slug: str = "kobe") -> int:
    headers = {} if sig is None else {"X-Line-Signature": signature(body) if sig == "auto" else sig}
    response = Client().post(
        f"/{slug}/line/webhook", data=body, content_type="application/json", headers=headers
    )
    return response.status_code


@pytest.fixture
def kobe_line(kobe_kb: Tenant) -> Tenant:
    line_channel_save(
        municipality=kobe_kb.municipality,
        channel_secret=SECRET,
        access_token=TOKEN,
        actor=AuditActor(label="test"),
    )
    return kobe_kb


def state() -> tuple[Any, ...]:
    return (
        snapshot(LineWebhookEvent.objects.all()),
        snapshot(Conversation.objects.all()),
        snapshot(Message.objects.all()),
    )


def test_secret_and_token_are_stored_encrypted(kobe_line: Tenant) -> None:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT channel_secret, access_token FROM consultation_linechannel")
        raw = cursor.fetchone()
    assert SECRET not in raw[0]
    assert TOKEN not in raw[1]
    assert LineChannel.objects.get().channel_secret == SECRET


@pytest.mark.parametrize(
    "sig", [None, "", "bad", signature(b"other body"), signature(b"x", "wrong-secret")]
)
def test_a_missing_or_wrong_signature_gets_400_and_changes_nothing(
    kobe_line: Tenant,
    line_server: LineServer,
    sig: str | None,
    django_capture_on_commit_callbacks: Any,
) -> None:
    before = state()
    with django_capture_on_commit_callbacks(execute=True):
        assert post(body_of(text_event("住民票")), sig=sig) == 400
    assert state() == before
    assert line_server.requests == []


@pytest.mark.parametrize(
    "body", [b"not json", b"[]", b'{"destination": "x"}', b'{"events": 5}', b"\xff\xfe"]
)
def test_a_body_that_is_not_a_webhook_gets_400(
    kobe_line: Tenant, line_server: LineServer, body: bytes
) -> None:
    before = state()
    assert post(body) == 400
    assert state() == before


def test_a_text_message_is_answered_through_the_reply_api(
    kobe_line: Tenant, line_server: LineServer, django_capture_on_commit_callbacks: Any
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        assert post(body_of(text_event("個人番号カードを作りたい"))) == 200
    [request] = line_server.requests
    assert request.path == REPLY
    assert request.headers["authorization"] == f"Bearer {TOKEN}"
    assert request.headers["content-type"].startswith("application/json")
    assert request.body["replyToken"] == "reply-01HTEXT"
    [message] = request.body["messages"]
    assert message["type"] == "text"
    assert "証明写真機から申請できます" in message["text"]
    items = message["quickReply"]["items"]
    assert {
        "type": "action",
        "action": {
            "type": "postback",
            "label": "担当者に相談する",
            "data": "handover",
            "displayText": "担当者に相談する",
        },
    } in items
    conversation = Conversation.objects.get()
    assert (conversation.channel, conversation.line_user_id) == ("line", USER)


def test_a_redelivered_event_is_answered_once(
    kobe_line: Tenant, line_server: LineServer, django_capture_on_commit_callbacks: Any
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        assert post(body_of(text_event("住民票がほしい", event_id="01HSAME"))) == 200
    with django_capture_on_commit_callbacks(execute=True):
        assert (
            post(body_of(text_event("住民票がほしい", event_id="01HSAME", redelivery=True))) == 200
        )
    assert len(line_server.bodies(REPLY)) == 1
    assert Message.objects.filter(sender=Sender.RESIDENT).count() == 1
    assert LineWebhookEvent.objects.count() == 1


def test_follow_gets_the_greeting_with_the_main_menu(
    kobe_line: Tenant, line_server: LineServer, django_capture_on_commit_callbacks: Any
) -> None:
    event = FollowEvent(
        type="follow", follow=FollowDetail(isUnblocked=False), **_common("01HFOLLOW")
    )
    with django_capture_on_commit_callbacks(execute=True):
        assert post(body_of(event)) == 200
    [body] = line_server.bodies(REPLY)
    assert body["messages"][0]["text"].startswith("神戸市の相談窓口です。")
    data = [item["action"]["data"] for item in body["messages"][0]["quickReply"]["items"]]
    assert data == ["scenario:fever-triage", "scenario:sodai-gomi", "handover"]


def test_postbacks_walk_a_scenario(
    kobe_line: Tenant, line_server: LineServer, django_capture_on_commit_callbacks: Any
) -> None:
    for number, data in enumerate(["scenario:fever-triage", "step:fever-triage:call-119"]):
        event = PostbackEvent(
            type="postback", postback=PostbackContent(data=data), **_common(f"01HPB{number}")
        )
        with django_capture_on_commit_callbacks(execute=True):
            assert post(body_of(event)) == 200
    first, second = line_server.bodies(REPLY)
    assert first["messages"][0]["text"].startswith("次のような症状はありますか。")
    assert "119番に電話して救急車を呼んでください" in second["messages"][0]["text"]
    assert "119番に電話する：tel:119" in second["messages"][0]["text"]


def test_unknown_and_unhandled_events_are_acknowledged_without_reply(
    kobe_line: Tenant, line_server: LineServer, django_capture_on_commit_callbacks: Any
) -> None:
    body = (
        '{"destination":"Ubot","events":[{"type":"somethingNew","mode":"active",'
        '"timestamp":1,"webhookEventId":"01HNEW","deliveryContext":{"isRedelivery":false},'
        '"source":{"type":"user","userId":"' + USER + '"}}]}'
    ).encode()
    with django_capture_on_commit_callbacks(execute=True):
        assert post(body) == 200
    sticker = MessageEvent(
        type="message",
        message=StickerMessageContent(
            type="sticker",
            id="1",
            packageId="446",
            stickerId="1988",
            stickerResourceType="STATIC",
            quoteToken="q",
        ),
        **_common("01HSTICKER"),
    )
    with django_capture_on_commit_callbacks(execute=True):
        assert post(body_of(sticker)) == 200
    [reply] = line_server.bodies(REPLY)
    assert reply["messages"][0]["text"] == "文章で質問を送ってください。"
    assert not Message.objects.exists()


def test_status_lookup_by_receipt_number_and_secret(
    kobe_line: Tenant, line_server: LineServer, django_capture_on_commit_callbacks: Any
) -> None:
    from madoguchi.procedures.receipts import lookup_secret_display
    from madoguchi.procedures.services import application_submit
    from tests.procedures.conftest import ACTOR, attachment_new, kyufukin_answers, publish

    version = publish(kobe_line.municipality)
    attachment = attachment_new(kobe_line.municipality)
    result = application_submit(
        municipality=kobe_line.municipality,
        version=version,
        answers=kyufukin_answers(str(attachment.pk)),
        channel="web",
        actor=ACTOR,
        owned_attachments=[str(attachment.pk)],
    )
    assert result.secret is not None
    receipt = result.application.receipt_number
    text = f"{receipt[:5]}-{receipt[5:]} {lookup_secret_display(result.secret)}"
    with django_capture_on_commit_callbacks(execute=True):
        assert post(body_of(text_event(text, event_id="01HSTATUS"))) == 200
        assert post(body_of(text_event(f"{receipt} AAAA-AAAA", event_id="01HWRONG"))) == 200
    right, wrong = (b["messages"][0]["text"] for b in line_server.bodies(REPLY))
    assert right.startswith(f"受付番号 {receipt[:5]}-{receipt[5:]}（特別定額給付金")
    assert "状況：" in right
    assert (
        wrong == "受付番号または確認コードが正しくありません。控えの番号とコードをご確認ください。"
    )
    stored = [m.text for m in Message.objects.filter(sender=Sender.RESIDENT)]
    assert all("****-****" in t for t in stored)
    assert result.secret not in " ".join(stored)


def test_hand_over_on_line_and_the_staff_reply_is_pushed(
    kobe_line: Tenant, line_server: LineServer, django_capture_on_commit_callbacks: Any
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        post(body_of(text_event("担当者と話したい", event_id="01HHAND")))
        post(body_of(text_event("転入届の必要書類を教えて", event_id="01HMORE")))
    first, second = (b["messages"][0]["text"] for b in line_server.bodies(REPLY))
    assert first.startswith("担当部署の担当者におつなぎします。")
    # How to come back later: on LINE the talk itself is the conversation.
    assert "返信はこのトークに届きます。後で続きを送るときも、このトークに送ってください。" in first
    assert second == "担当者に伝えました。返信までしばらくお待ちください。"
    conversation = Conversation.objects.get()
    assert conversation.state == ConversationState.WAITING
    admin = kobe_line.client("admin")
    url = f"/kobe/chat/staff/conversations/{conversation.pk}/"
    assert "転入届の必要書類を教えて" in admin.get(url).content.decode()
    with django_capture_on_commit_callbacks(execute=True):
        assert (
            admin.post(url, {"text": "転出証明書と本人確認書類をお持ちください。"}).status_code
            == 302
        )
    [push] = [r for r in line_server.requests if r.path == PUSH]
    assert push.body["to"] == USER
    assert (
        push.body["messages"][0]["text"]
        == "【担当者より】\n転出証明書と本人確認書類をお持ちください。"
    )
    assert len(push.headers["x-line-retry-key"]) == 36
    assert Message.objects.get(sender=Sender.STAFF).delivery == "sent"


def test_a_failed_push_is_recorded_not_raised(
    kobe_line: Tenant, line_server: LineServer, django_capture_on_commit_callbacks: Any
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        post(body_of(text_event("担当者と話したい", event_id="01HHAND")))
    line_server.status = 500
    conversation = Conversation.objects.get()
    from madoguchi.accounts.permissions import StaffContext

    admin = kobe_line.staff["admin"]
    staff = StaffContext(admin, kobe_line.municipality, tuple(admin.memberships.all()), "127.0.0.1")
    with django_capture_on_commit_callbacks(execute=True):
        staff_reply(staff=staff, conversation=conversation, text="お待たせしました。")
    assert Message.objects.get(sender=Sender.STAFF).delivery == "failed"


def test_a_webhook_for_kobe_never_touches_sayo(
    kobe_line: Tenant,
    tenant_b: Tenant,
    line_server: LineServer,
    django_capture_on_commit_callbacks: Any,
) -> None:
    line_channel_save(
        municipality=tenant_b.municipality,
        channel_secret="sayo-secret",
        access_token="sayo-token",
        actor=AuditActor(label="test"),
    )
    body = body_of(text_event("住民票", event_id="01HKOBE"))
    # Kobe's signed body sent to Sayo's webhook fails Sayo's secret.
    assert post(body, slug="sayo") == 400
    with django_capture_on_commit_callbacks(execute=True):
        assert post(body) == 200
    assert set(Conversation.objects.values_list("municipality", flat=True)) == {
        kobe_line.municipality.pk
    }
    assert [r.headers["authorization"] for r in line_server.requests] == [f"Bearer {TOKEN}"]
    assert post(body_of(text_event("住民票", event_id="01HX")), slug="nowhere") == 404


def test_a_municipality_without_line_gets_404(tenant_a: Tenant) -> None:
    assert post(body_of(text_event("住民票"))) == 404
