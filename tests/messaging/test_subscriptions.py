"""Subscribing and unsubscribing on the web (e-mail, double opt-in) and on LINE (postbacks)."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.test import Client
from linebot.v3.webhooks import PostbackContent, PostbackEvent, UnfollowEvent

from madoguchi.audit.models import AuditEntry
from madoguchi.messaging.models import Channel, Subscriber
from madoguchi.messaging.models.subscriptions import address_digest
from tests.accounts.invitemail import mails
from tests.consultation.test_line import _common, body_of, signature
from tests.isolation import Tenant, snapshot
from tests.messaging.conftest import run_worker, subscriber
from tests.procedures.test_submit import _SMTPServer

EMAIL = "hanako@example.jp"
LINK = re.compile(r"https?://[^/\s]+(/kobe/messages/[a-z]+/[A-Za-z0-9_-]+/)")


def _subscribe(client: Client, **overrides: Any) -> Any:
    data = {"email": EMAIL, "topics": ["kosodate", "gomi"], "area": "nada", "language": "ja"}
    data.update(overrides)
    return client.post("/kobe/messages/", data)


@pytest.mark.django_db(transaction=True)
def test_a_web_subscription_is_confirmed_from_the_mailbox_and_stopped_in_one_step(
    city: Tenant, smtp_server: _SMTPServer, signal_handlers: None
) -> None:
    """Double opt-in over real SMTP: nothing is active before the link; one button stops it."""
    client = Client()
    assert _subscribe(client)["Location"] == "/kobe/messages/sent/"
    subscriber = Subscriber.objects.get(address_digest=address_digest(EMAIL))
    assert (subscriber.channel, subscriber.area and subscriber.area.code) == ("email", "nada")
    assert sorted(t.code for t in subscriber.topics.all()) == ["gomi", "kosodate"]
    assert not subscriber.is_active

    run_worker()
    [(recipients, subject, body)] = mails(smtp_server)
    assert recipients == [EMAIL]
    assert subject == "【神戸市】お知らせ配信の登録を確認してください"
    match = LINK.search(body)
    assert match is not None
    confirm = match.group(1)
    assert confirm == f"/kobe/messages/confirm/{subscriber.token}/"

    assert client.get(confirm).status_code == 200  # a mail scanner opening it changes nothing
    subscriber.refresh_from_db()
    assert subscriber.confirmed_at is None
    response = client.post(confirm)
    assert response["Location"] == f"/kobe/messages/my/{subscriber.token}/?confirmed=1"
    subscriber.refresh_from_db()
    assert subscriber.is_active

    page = client.get(response["Location"]).content.decode()
    assert "登録が完了しました。" in page
    changed = client.post(
        f"/kobe/messages/my/{subscriber.token}/",
        {"topics": ["bousai"], "area": "chuo", "language": "en"},
    )
    assert changed.status_code == 200
    subscriber.refresh_from_db()
    assert [t.code for t in subscriber.topics.all()] == ["bousai"]
    assert (subscriber.area and subscriber.area.code, subscriber.language) == ("chuo", "en")

    # RFC 8058 one-click: the mail program's POST, without a CSRF token.
    one_click = Client(enforce_csrf_checks=True).post(
        f"/kobe/messages/unsubscribe/{subscriber.token}/", {"List-Unsubscribe": "One-Click"}
    )
    assert one_click.status_code == 200
    subscriber.refresh_from_db()
    assert subscriber.unsubscribed_at is not None
    assert not subscriber.is_active
    actions = list(
        AuditEntry.objects.filter(action__startswith="messaging.").values_list("action", flat=True)
    )
    assert actions[-4:] == [
        "messaging.subscription_request",
        "messaging.subscription_confirm",
        "messaging.subscription_change",
        "messaging.unsubscribe",
    ]


@pytest.mark.django_db(transaction=True)
def test_a_second_request_for_a_confirmed_address_changes_nothing_and_mails_the_owner(
    city: Tenant, smtp_server: _SMTPServer, signal_handlers: None
) -> None:
    """Knowing someone's address is not enough to change their choices."""
    client = Client()
    _subscribe(client)
    subscriber = Subscriber.objects.get(address_digest=address_digest(EMAIL))
    client.post(f"/kobe/messages/confirm/{subscriber.token}/")
    before = snapshot(Subscriber.objects.all())

    assert _subscribe(client, topics=["bousai"], area="")["Location"] == "/kobe/messages/sent/"

    assert snapshot(Subscriber.objects.all()) == before
    run_worker()
    subjects = [subject for _to, subject, _body in mails(smtp_server)]
    assert subjects[-1] == "【神戸市】お知らせ配信の登録内容"


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"email": "not-an-address"}, "メールアドレスの形式が正しくありません。"),
        ({"email": ""}, "メールアドレスを入力してください。"),
        ({"topics": []}, "受け取りたいお知らせの種類を1つ以上選んでください。"),
        ({"topics": ["nope"]}, "お知らせの種類を一覧から選んでください。"),
        ({"area": "../../etc"}, "地域を一覧から選んでください。"),
        ({"language": "fr"}, "言語を一覧から選んでください。"),
    ],
)
def test_bad_input_on_the_subscription_form_gets_a_japanese_message(
    city: Tenant, overrides: dict[str, Any], message: str
) -> None:
    response = _subscribe(Client(), **overrides)
    assert response.status_code == 400
    assert message in response.content.decode()
    assert not Subscriber.objects.exists()


def test_an_unknown_link_is_a_japanese_404_for_every_page(city: Tenant) -> None:
    for path in ("confirm", "my", "unsubscribe"):
        for method in ("get", "post"):
            response = getattr(Client(), method)(f"/kobe/messages/{path}/not-a-token/")
            assert response.status_code == 404
            assert "このリンクは無効です。" in response.content.decode()


def _postback(data: str, event_id: str, user: str = "U" + "1" * 32) -> bytes:
    return body_of(
        PostbackEvent(
            type="postback", postback=PostbackContent(data=data), **_common(event_id, user=user)
        )
    )


def _post(body: bytes) -> int:
    return (
        Client()
        .post(
            "/kobe/line/webhook",
            data=body,
            content_type="application/json",
            headers={"X-Line-Signature": signature(body, "secret")},
        )
        .status_code
    )


@pytest.mark.django_db(transaction=True)
def test_a_line_friend_chooses_a_topic_and_area_by_postback_and_stops_with_one_button(
    city: Tenant, line_api: Any
) -> None:
    """Rich-menu entry → topic → area → subscribed; 配信停止 → unsubscribed; unfollow too."""
    user = "U" + "1" * 32
    assert _post(_postback("messaging:menu", "E1")) == 200
    assert _post(_postback("messaging:t:bousai", "E2")) == 200
    assert _post(_postback("messaging:s:bousai:chuo", "E3")) == 200
    assert _post(_postback("messaging:s:gomi:chuo", "E4")) == 200
    subscriber = Subscriber.objects.get(channel=Channel.LINE, address_digest=address_digest(user))
    assert subscriber.is_active
    assert sorted(t.code for t in subscriber.topics.all()) == ["bousai", "gomi"]
    assert subscriber.area is not None
    assert subscriber.area.code == "chuo"

    replies = [r.body for r in line_api_requests(line_api, "/v2/bot/message/reply")]
    texts = [r["messages"][0]["text"] for r in replies]
    assert texts[:3] == [
        "受け取りたいお知らせの種類を選んでください。",
        "お住まいの地域を選んでください。",
        "「防災」のお知らせをお届けします。",
    ]
    labels = [i["action"]["label"] for i in replies[0]["messages"][0]["quickReply"]["items"]]
    assert labels == ["防災", "ごみ", "子育て", "配信停止"]  # by order, then code

    assert _post(_postback("messaging:unsubscribe", "E5")) == 200
    subscriber.refresh_from_db()
    assert subscriber.unsubscribed_at is not None

    assert _post(_postback("messaging:s:kosodate:", "E6")) == 200
    subscriber.refresh_from_db()
    assert subscriber.is_active
    assert subscriber.area is None
    unfollow = body_of(
        UnfollowEvent(
            type="unfollow",
            **{k: v for k, v in _common("E7", user=user).items() if k != "replyToken"},
        )
    )
    assert _post(unfollow) == 200
    subscriber.refresh_from_db()
    assert subscriber.unsubscribed_at is not None


@pytest.mark.django_db(transaction=True)
def test_a_postback_with_an_unknown_topic_or_area_subscribes_nobody(
    city: Tenant, line_api: Any
) -> None:
    assert _post(_postback("messaging:s:nope:chuo", "E1")) == 200
    assert _post(_postback("messaging:s:bousai:nowhere", "E2")) == 200
    assert not Subscriber.objects.exists()
    texts = [
        r.body["messages"][0]["text"] for r in line_api_requests(line_api, "/v2/bot/message/reply")
    ]
    assert texts == [
        "受け取りたいお知らせの種類を1つ以上選んでください。",
        "地域を一覧から選んでください。",
    ]


def line_api_requests(line_api: Any, path: str) -> list[Any]:
    return [c for c in line_api.raw if c.path == path]


@pytest.mark.django_db
def test_saving_choices_on_the_page_reached_after_confirming_says_only_that_they_changed(
    city: Tenant,
) -> None:
    """The page after confirmation says 「登録が完了しました」; saving there says what was saved,
    not that the registration was completed again."""
    row = subscriber(city.municipality, EMAIL, topics=[city.data["topics"]["kosodate"]])
    path = f"/kobe/messages/my/{row.token}/?confirmed=1"
    shown = Client().get(path).content.decode()
    assert "登録が完了しました。" in shown
    saved = Client().post(path, {"topics": ["gomi"], "area": "", "language": "ja"})
    assert saved.status_code == 200
    body = saved.content.decode()
    assert "登録内容を変更しました。" in body
    assert "登録が完了しました。" not in body
    assert [t.code for t in row.topics.all()] == ["gomi"]
