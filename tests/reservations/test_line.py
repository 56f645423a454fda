"""Booking on LINE: signed webhook events in, replies and the day-before push out.

The webhook is driven with the official SDK's event models; the replies and pushes go to the
local Messaging API server of the messaging tests (it answers 409 to a repeated retry key).
"""

from __future__ import annotations

import datetime
import email
import uuid
from email.header import decode_header, make_header
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone
from linebot.v3.webhooks import PostbackContent, PostbackEvent, UnfollowEvent

from madoguchi.audit.models import AuditEntry
from madoguchi.consultation.models import Message
from madoguchi.consultation.services import line_channel_save
from madoguchi.messaging.models import Channel, Notice
from madoguchi.messaging.notices import notice_deliver, notices_deliver_due
from madoguchi.procedures.receipts import lookup_secret_matches, receipt_number_parse
from madoguchi.reservations import services, tasks
from madoguchi.reservations.line import line_drafts_purge
from madoguchi.reservations.models import Booking, BookingStatus, LineBookingDraft, Resource, Slot
from madoguchi.reservations.notify import reminder_retry_key
from madoguchi.reservations.selectors import line_user_key
from tests.consultation.test_line import _common, body_of, signature, text_event
from tests.isolation import Tenant, snapshot
from tests.messaging.conftest import MessagingApi, subscriber
from tests.reservations.conftest import ACTOR, resource_new, slot_new

USER = "U" + "a" * 32
OTHER = "U" + "b" * 32
PUSH = "/v2/bot/message/push"
REPLY = "/v2/bot/message/reply"


def _channel(municipality: Any) -> None:
    line_channel_save(
        municipality=municipality,
        channel_secret="secret-" + municipality.slug,
        access_token="token-" + municipality.slug,
        basic_id="",
        actor=ACTOR,
    )


@pytest.fixture
def kobe(tenant_a: Tenant, settings: Any) -> Tenant:
    """神戸市 with a LINE channel; the per-user limit of LINE events out of the way."""
    settings.CONSULTATION_LINE_RATE_PER_USER = 1000
    _channel(tenant_a.municipality)
    return tenant_a


class Line:
    """A LINE user talking to one municipality's account through its signed webhook."""

    def __init__(self, api: MessagingApi, slug: str = "kobe", user: str = USER) -> None:
        self.api, self.slug, self.user = api, slug, user
        self.events = 0

    def _send(self, event: Any) -> dict[str, Any]:
        body = body_of(event)
        seen = len([r for r in self.api.raw if r.path == REPLY])
        response = Client().post(
            f"/{self.slug}/line/webhook",
            data=body,
            content_type="application/json",
            headers={"X-Line-Signature": signature(body, "secret-" + self.slug)},
        )
        assert response.status_code == 200
        replies = [r.body for r in self.api.raw if r.path == REPLY]
        assert len(replies) == seen + 1, "one reply per event"
        message: dict[str, Any] = replies[-1]["messages"][0]
        return message

    def _id(self) -> str:
        self.events += 1
        return f"{self.slug}-{self.user[-4:]}-{self.events}-{uuid.uuid4().hex[:8]}"

    def postback(self, data: str) -> dict[str, Any]:
        content = PostbackContent(data=data)
        return self._send(
            PostbackEvent(type="postback", postback=content, **_common(self._id(), user=self.user))
        )

    def text(self, text: str) -> dict[str, Any]:
        return self._send(text_event(text, self._id(), user=self.user))


def buttons(message: dict[str, Any]) -> list[tuple[str, str]]:
    items = (message.get("quickReply") or {}).get("items", [])
    return [(i["action"]["label"], i["action"]["data"]) for i in items]


def data_of(message: dict[str, Any], label: str) -> str:
    [data] = [d for lab, d in buttons(message) if lab == label]
    return data


def _day_label(slot: Slot) -> str:
    day = timezone.localtime(slot.starts_at).date()
    return f"{day.month}/{day.day}({'月火水木金土日'[day.weekday()]})"


def _vaccine(municipality: Any) -> Resource:
    return resource_new(
        municipality,
        code="flu",
        name="インフルエンザ予防接種",
        min_age=65,
        districts=["中央区", "灘区"],
    )


def _book(line: Line, resource: Resource, slot: Slot, name: str = "神戸 花子") -> dict[str, Any]:
    """The whole conversation from the rich-menu entry to the receipt."""
    menu = line.postback("reservations:menu")
    assert menu["text"] == "予約したいものを選んでください。"
    days = line.postback(data_of(menu, resource.name))
    assert days["text"] == f"「{resource.name}」の日にちを選んでください。"
    times = line.postback(data_of(days, _day_label(slot)))
    label = f"{timezone.localtime(slot.starts_at):%H:%M}（残り{slot.capacity - slot.booked}）"
    question = line.postback(data_of(times, label))
    if resource.districts:
        assert question["text"] == "お住まいの地区を選んでください。"
        question = line.postback(data_of(question, "灘区"))
    if resource.min_age is not None:
        assert question["text"].startswith("対象年齢の確認のため、生年月日を")
        question = line.text("１９５０年４月１日")  # 全角 digits, as phones often type them
    assert question["text"] == "予約されるかたのお名前を送ってください。"
    summary = line.text(name)
    assert summary["text"].startswith("次の内容で予約しますか。")
    assert f"お名前: {name}" in summary["text"]
    return line.postback(data_of(summary, "予約する"))


@pytest.mark.django_db(transaction=True)
def test_a_resident_books_on_line_with_postbacks_and_typed_answers(
    kobe: Tenant, line_api: MessagingApi
) -> None:
    resource = _vaccine(kobe.municipality)
    slot = slot_new(resource, capacity=3)
    line = Line(line_api)

    receipt = _book(line, resource, slot)

    booking = Booking.objects.get()
    assert receipt["text"].startswith("予約しました。\nインフルエンザ予防接種\n")
    number = receipt_number_parse(receipt["text"].split("受付番号: ")[1].split("\n")[0])
    secret = receipt["text"].split("確認コード: ")[1].split("\n")[0]
    assert number == booking.receipt_number
    assert lookup_secret_matches(number, secret, booking.secret_hash)
    assert (booking.name, booking.district, booking.birth_date) == (
        "神戸 花子",
        "灘区",
        datetime.date(1950, 4, 1),
    )
    assert (booking.channel, booking.line_user_id, booking.seat) == ("line", USER, 1)
    assert booking.line_user_key == line_user_key(USER)
    assert Slot.objects.get(pk=slot.pk).booked == 1
    assert not LineBookingDraft.objects.exists()
    # The typed name and birth date belong to the booking, not to a consultation.
    assert not Message.objects.exists()
    entry = AuditEntry.objects.get(action="reservations.booking.create")
    assert (entry.object_id, entry.actor_label) == (str(booking.pk), "line")
    assert entry.data["channel"] == "line"


@pytest.mark.django_db(transaction=True)
def test_my_bookings_and_cancel_from_line(kobe: Tenant, line_api: MessagingApi) -> None:
    resource = resource_new(kobe.municipality)
    slot = slot_new(resource, capacity=2)
    line = Line(line_api)
    _book(line, resource, slot, name="灘 太郎")
    booking = Booking.objects.get()

    mine = line.postback("reservations:my")
    assert mine["text"].startswith("LINEからのご予約：\n・戸籍の窓口 ")
    cancel = [d for _label, d in buttons(mine) if d.startswith("reservations:c:")]
    assert cancel == [f"reservations:c:{booking.pk}"]
    asked = line.postback(cancel[0])
    assert asked["text"].startswith("この予約を取り消しますか。")
    assert Booking.objects.get().status == BookingStatus.BOOKED  # asking changes nothing
    done = line.postback(data_of(asked, "取り消す"))
    assert done["text"].startswith("予約を取り消しました。")
    assert Booking.objects.get().status == BookingStatus.CANCELLED
    assert Slot.objects.get(pk=slot.pk).booked == 0
    assert AuditEntry.objects.get(action="reservations.booking.cancel").actor_label == "line"
    assert line.postback("reservations:my")["text"] == "LINEからのご予約はありません。"
    again = line.postback(f"reservations:cc:{booking.pk}")
    assert again["text"] == "この予約は取り消されているため、変更できません。"


@pytest.mark.django_db(transaction=True)
def test_a_slot_that_filled_up_meanwhile_is_refused_with_a_clear_message(
    kobe: Tenant, line_api: MessagingApi
) -> None:
    resource = resource_new(kobe.municipality)
    slot = slot_new(resource, capacity=1)
    line = Line(line_api)
    line.postback(f"reservations:s:{slot.pk}")
    summary = line.text("須磨 次郎")
    # Someone on the web takes the last seat while the LINE user reads the summary.
    services.booking_create(
        municipality=kobe.municipality, slot_id=slot.pk, name="ウェブ", actor=ACTOR
    )
    before = snapshot(Booking.objects.all())

    refused = line.postback(data_of(summary, "予約する"))

    assert refused["text"] == (
        "申し訳ありません。この時間はちょうど満員になりました。別の時間をお選びください。"
    )
    assert data_of(refused, "別の時間を選ぶ") == "reservations:r:koseki:0"
    assert snapshot(Booking.objects.all()) == before
    assert Slot.objects.get(pk=slot.pk).booked == 1
    assert not LineBookingDraft.objects.exists()
    # Choosing the full time again is refused at once, and the list no longer offers it.
    assert line.postback(f"reservations:s:{slot.pk}")["text"] == refused["text"]
    assert line.postback("reservations:r:koseki:0")["text"] == (
        "「戸籍の窓口」は2週間先まで空きがありません。"
    )


@pytest.mark.django_db(transaction=True)
def test_an_ineligible_or_wrong_answer_is_refused_and_books_nothing(
    kobe: Tenant, line_api: MessagingApi
) -> None:
    resource = _vaccine(kobe.municipality)
    slot = slot_new(resource, capacity=3)
    line = Line(line_api)
    line.postback(f"reservations:s:{slot.pk}")
    wrong = line.postback("reservations:a:7")
    assert wrong["text"] == "地区は一覧から選んでください。"
    assert [label for label, _d in buttons(wrong)] == ["中央区", "灘区", "やめる"]
    assert line.postback("reservations:a:0")["text"].startswith("対象年齢の確認のため")
    assert line.text("あしたの午後")["text"] == "生年月日は 1980-04-01 の形で送ってください。"
    assert line.text("1980-02-30")["text"] == "生年月日は 1980-04-01 の形で送ってください。"
    assert LineBookingDraft.objects.get().awaiting == "birth_date"  # still waiting for it

    refused = line.text("2000/1/1")

    assert refused["text"] == "この予約の対象年齢ではありません。"
    assert not Booking.objects.exists()
    assert not LineBookingDraft.objects.exists()
    assert Slot.objects.get(pk=slot.pk).booked == 0
    # The booking being made is gone: confirming now finds nothing to confirm.
    assert line.postback("reservations:ok")["text"] == (
        "予約の手続きが見つかりません。はじめからお選びください。"
    )


@pytest.mark.django_db(transaction=True)
def test_leaving_for_another_menu_drops_the_booking_being_made(
    kobe: Tenant, line_api: MessagingApi
) -> None:
    """A question typed after leaving is not taken for the name of a booking."""
    slot = slot_new(resource_new(kobe.municipality), capacity=2)
    line = Line(line_api)
    assert line.postback(f"reservations:s:{slot.pk}")["text"] == (
        "予約されるかたのお名前を送ってください。"
    )
    line.postback("messaging:menu")
    assert not LineBookingDraft.objects.exists()
    answer = line.text("粗大ごみの出し方は？")
    assert not answer["text"].startswith("次の内容で予約しますか。")
    assert not Booking.objects.exists()
    # Blocking the account forgets the booking being made too.
    line.postback(f"reservations:s:{slot.pk}")
    assert LineBookingDraft.objects.exists()
    unfollow = UnfollowEvent(
        type="unfollow",
        **{k: v for k, v in _common("unfollow-1", user=USER).items() if k != "replyToken"},
    )
    response = Client().post(
        "/kobe/line/webhook",
        data=body_of(unfollow),
        content_type="application/json",
        headers={"X-Line-Signature": signature(body_of(unfollow), "secret-kobe")},
    )
    assert response.status_code == 200
    assert not LineBookingDraft.objects.exists()


def test_unfinished_bookings_are_purged_after_half_an_hour(kobe: Tenant) -> None:
    slot = slot_new(resource_new(kobe.municipality), capacity=2)
    for user, minutes in ((USER, 31), (OTHER, 5)):
        LineBookingDraft.objects.create(
            municipality=kobe.municipality, line_user_key=line_user_key(user), slot=slot
        )
        LineBookingDraft.objects.filter(line_user_key=line_user_key(user)).update(
            updated_at=timezone.now() - datetime.timedelta(minutes=minutes)
        )
    assert line_drafts_purge() == 1
    assert list(LineBookingDraft.objects.values_list("line_user_key", flat=True)) == [
        line_user_key(OTHER)
    ]


@pytest.mark.django_db(transaction=True)
def test_long_lists_page_on_within_thirteen_quick_replies(
    kobe: Tenant, line_api: MessagingApi
) -> None:
    resource = resource_new(kobe.municipality)
    for hour in range(8, 23):  # 15 times on one day
        slot_new(resource, capacity=1, hour=hour)
    line = Line(line_api)
    day = timezone.localdate() + datetime.timedelta(days=3)
    first = line.postback(f"reservations:d:koseki:{day.isoformat()}:0")
    assert len(buttons(first)) == 13
    assert [label for label, _d in buttons(first)][-2:] == ["次へ", "日にちを選び直す"]
    second = line.postback(data_of(first, "次へ"))
    times = [label for label, _d in buttons(second)][:-1]
    assert times == [f"{h}:00（残り1）" for h in range(19, 23)]


@pytest.mark.django_db(transaction=True)
def test_the_day_before_reminder_is_pushed_once_with_a_retry_key(
    kobe: Tenant, line_api: MessagingApi, smtp_server: Any, settings: Any
) -> None:
    """LINE bookings are reminded on LINE, the others by e-mail; each once, whatever happens."""
    resource = resource_new(kobe.municipality)
    slot = slot_new(resource, capacity=3, days_ahead=1)
    on_line = services.booking_create(
        municipality=kobe.municipality,
        slot_id=slot.pk,
        name="LINE",
        channel="line",
        line_user_id=USER,
        actor=ACTOR,
    ).booking
    services.booking_create(
        municipality=kobe.municipality,
        slot_id=slot.pk,
        name="ウェブ",
        email="web@example.jp",
        actor=ACTOR,
    )
    day = timezone.localtime(slot.starts_at).date()
    line_api.script = [(500, {})]  # the Messaging API fails once

    assert tasks.reminders_due(day=day) == 2  # both handed to messaging's notices
    assert tasks.reminders_due(day=day) == 0  # and nothing again
    push_notice = Notice.objects.get(kind="reservations.reminder_line")
    assert (push_notice.state, push_notice.attempts) == ("queued", 1)  # LINE said 500
    assert notice_deliver(notice_id=push_notice.pk, now_or_never=True).sent  # the retry

    first, second = line_api.calls
    assert (first.path, first.status, second.status) == (PUSH, 500, 200)
    assert second.to == [USER]
    assert first.retry_key == second.retry_key == reminder_retry_key(on_line)
    assert str(uuid.UUID(second.retry_key)) == second.retry_key
    assert second.text.startswith("明日は 戸籍の窓口 のご予約の日です。")
    push = [r for r in line_api.raw if r.path == PUSH][-1]
    assert push.headers["authorization"] == "Bearer token-kobe"
    assert buttons(push.body["messages"][0]) == [("予約の確認・取消し", "reservations:my")]
    mails = [
        (recipients, str(make_header(decode_header(email.message_from_bytes(data)["Subject"]))))
        for _sender, recipients, data in smtp_server.messages
    ]
    assert [(to, subject.split("（")[0]) for to, subject in mails] == [
        (["<web@example.jp>"], "予約を受け付けました"),
        (["<web@example.jp>"], "明日のご予約のお知らせ"),
    ]

    # A worker that died after LINE took the push but before recording it: the next attempt
    # sends with the same key, LINE answers 409 and delivers nothing twice; it counts as sent.
    Notice.objects.filter(pk=push_notice.pk).update(state="queued")
    assert notice_deliver(notice_id=push_notice.pk, now_or_never=True).sent
    assert line_api.calls[-1].status == 409
    assert line_api.delivered() == [USER]


def test_unsent_reminders_are_tried_again_by_messaging_after_the_backoff(
    kobe: Tenant, line_api: MessagingApi, settings: Any
) -> None:
    """The reminder is a notice: LINE down, it waits for its backoff and the sweep sends it."""
    settings.MESSAGING_RETRY_BASE_SECONDS = 30
    slot = slot_new(resource_new(kobe.municipality), capacity=2, days_ahead=1)
    services.booking_create(
        municipality=kobe.municipality,
        slot_id=slot.pk,
        name="LINE",
        channel="line",
        line_user_id=USER,
        actor=ACTOR,
    )
    day = timezone.localtime(slot.starts_at).date().isoformat()
    line_api.script = [(503, {})]
    before = timezone.now()

    assert tasks.send_reminders.call(day=day) == 1

    [notice] = Notice.objects.all()
    assert notice.state == "queued"
    assert notice.next_attempt_at >= before + datetime.timedelta(seconds=30)
    assert notices_deliver_due() == 0  # not due yet
    Notice.objects.filter(pk=notice.pk).update(next_attempt_at=timezone.now())
    assert notices_deliver_due() == 1
    assert [c.status for c in line_api.calls] == [503, 200]


@pytest.mark.django_db(transaction=True)
def test_a_line_user_of_another_municipality_sees_and_changes_nothing_here(
    kobe: Tenant, tenant_b: Tenant, line_api: MessagingApi
) -> None:
    _channel(tenant_b.municipality)
    resource = resource_new(kobe.municipality)
    slot = slot_new(resource, capacity=2)
    _book(Line(line_api), resource, slot)
    booking = Booking.objects.get()
    before = snapshot(Booking.objects.all())

    sayo = Line(line_api, slug="sayo")  # the same person, on 佐用町's account
    assert sayo.postback("reservations:menu")["text"] == (
        "現在、LINEで予約できるものはありません。"
    )
    assert sayo.postback("reservations:my")["text"] == "LINEからのご予約はありません。"
    assert sayo.postback(f"reservations:c:{booking.pk}")["text"] == "この予約は見つかりません。"
    assert sayo.postback(f"reservations:cc:{booking.pk}")["text"] == "この予約は見つかりません。"
    assert sayo.postback(f"reservations:s:{slot.pk}")["text"] == (
        "この予約枠は見つかりません。一覧からもう一度お選びください。"
    )
    assert sayo.postback("reservations:r:koseki:0")["text"] == (
        "この予約枠は見つかりません。一覧からもう一度お選びください。"
    )
    # Another LINE user of the same account cannot cancel it either.
    stranger = Line(line_api, user=OTHER)
    assert stranger.postback(f"reservations:cc:{booking.pk}")["text"] == (
        "この予約は見つかりません。"
    )
    assert stranger.postback("reservations:my")["text"] == "LINEからのご予約はありません。"
    assert snapshot(Booking.objects.all()) == before
    assert not LineBookingDraft.objects.filter(municipality=tenant_b.municipality).exists()


@pytest.mark.django_db(transaction=True)
def test_a_line_user_who_chose_english_is_answered_in_english(
    kobe: Tenant, line_api: MessagingApi
) -> None:
    subscriber(kobe.municipality, USER, channel=Channel.LINE, topics=[], language="en")
    resource = resource_new(kobe.municipality)
    slot = slot_new(resource, capacity=2)
    line = Line(line_api)
    menu = line.postback("reservations:menu")
    assert menu["text"] == "Choose what you would like to book."
    assert buttons(menu)[0] == ("koseki counter", "reservations:r:koseki:0")
    question = line.postback(f"reservations:s:{slot.pk}")
    assert question["text"] == "Please send the name of the person booking."
    line.text("Hanako Kobe")
    receipt = line.postback("reservations:ok")
    assert receipt["text"].startswith("Booked.\nkoseki counter\n")
    assert Booking.objects.get().language == "en"
