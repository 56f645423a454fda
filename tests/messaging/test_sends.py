"""Segment sends: exactly the matching residents, quiet hours, approval, forms, isolation."""

from __future__ import annotations

import datetime
import email
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from madoguchi.audit.models import AuditEntry
from madoguchi.messaging import delivery, services
from madoguchi.messaging.errors import MessagingError, MessagingErrorCode
from madoguchi.messaging.models import (
    Area,
    Channel,
    Delivery,
    Send,
    SendState,
    Subscriber,
    Template,
)
from madoguchi.messaging.models.subscriptions import address_digest
from tests.isolation import Tenant, assert_cannot_change, assert_cannot_read, snapshot
from tests.messaging.conftest import ACTOR, MessagingApi, run_worker, setup_city, subscriber
from tests.procedures.test_submit import _SMTPServer


def _template(tenant: Tenant, topic: str = "kosodate") -> Template:
    return services.template_save(
        municipality=tenant.municipality,
        name=f"{topic}のお知らせ",
        topic=tenant.data["topics"][topic],
        subject_ja="{municipality}から{topic}のお知らせ",
        body_ja="{area}の皆さまへ。健診の日程が決まりました。",
        subject_en="{topic} news from {municipality}",
        body_en="Dear residents of {area}: the check-up dates are set.",
        actor=ACTOR,
    )


def _send(tenant: Tenant, template: Template, **kwargs: Any) -> Send:
    defaults: dict[str, Any] = {
        "topics": [template.topic],
        "areas": [],
        "languages": ["ja", "en"],
        "scheduled_at": None,
        "actor": ACTOR,
    }
    defaults.update(kwargs)
    return services.send_create(municipality=tenant.municipality, template=template, **defaults)


@pytest.mark.django_db(transaction=True)
def test_a_segment_send_reaches_exactly_the_matching_residents(
    city: Tenant,
    tenant_b: Tenant,
    smtp_server: _SMTPServer,
    line_api: MessagingApi,
    signal_handlers: None,
) -> None:
    """子育て × 灘区 × 日本語: e-mail and LINE subscribers matching all three, nobody else."""
    kobe, topics, areas = city.municipality, city.data["topics"], city.data["areas"]
    subscriber(kobe, "match@example.jp", topics=[topics["kosodate"]], area=areas["nada"])
    subscriber(
        kobe, "both@example.jp", topics=[topics["gomi"], topics["kosodate"]], area=areas["nada"]
    )
    subscriber(kobe, "chuo@example.jp", topics=[topics["kosodate"]], area=areas["chuo"])
    subscriber(kobe, "gomi@example.jp", topics=[topics["gomi"]], area=areas["nada"])
    subscriber(
        kobe, "en@example.jp", topics=[topics["kosodate"]], area=areas["nada"], language="en"
    )
    pending = subscriber(
        kobe, "pending@example.jp", topics=[topics["kosodate"]], area=areas["nada"]
    )
    Subscriber.objects.filter(pk=pending.pk).update(confirmed_at=None)
    gone = subscriber(kobe, "gone@example.jp", topics=[topics["kosodate"]], area=areas["nada"])
    Subscriber.objects.filter(pk=gone.pk).update(unsubscribed_at=timezone.now())
    subscriber(kobe, "Unada", channel=Channel.LINE, topics=[topics["kosodate"]], area=areas["nada"])
    subscriber(kobe, "Uchuo", channel=Channel.LINE, topics=[topics["kosodate"]], area=areas["chuo"])
    sayo = setup_city(tenant_b.municipality)
    subscriber(
        tenant_b.municipality,
        "sayo@example.jp",
        topics=[sayo["topics"]["kosodate"]],
        area=sayo["areas"]["nada"],
    )

    send = _send(city, _template(city), areas=[areas["nada"]], languages=["ja"])
    assert (send.state, send.recipient_count) == (SendState.SCHEDULED, 3)
    run_worker()

    send.refresh_from_db()
    assert send.state == SendState.DONE
    received = sorted(r.strip("<>") for _s, rs, _d in smtp_server.messages for r in rs)
    assert received == ["both@example.jp", "match@example.jp"]
    assert line_api.delivered() == ["Unada"]
    assert line_api.calls[0].path == "/v2/bot/message/push"  # one recipient: push
    assert line_api.calls[0].text.startswith("神戸市から子育てのお知らせ\n\n灘区の皆さまへ。")
    message = email.message_from_bytes(smtp_server.messages[0][2])
    assert str(email.header.make_header(email.header.decode_header(message["Subject"]))) == (
        "神戸市から子育てのお知らせ"
    )
    token = Subscriber.objects.get(address_digest=address_digest(message["To"])).token
    assert (
        message["List-Unsubscribe"].strip()
        == f"<http://127.0.0.1:8000/kobe/messages/unsubscribe/{token}/>"
    )
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert set(Delivery.objects.values_list("state", flat=True)) == {"sent"}
    assert AuditEntry.objects.filter(action="messaging.send_start", object_id=str(send.pk)).exists()


def _at(hour: int, minute: int = 0) -> datetime.datetime:
    local = timezone.localtime()
    return timezone.make_aware(
        datetime.datetime.combine(local.date(), datetime.time(hour, minute)), local.tzinfo
    )


def test_quiet_hours_hold_everything_but_urgent_messages(
    city: Tenant, django_capture_on_commit_callbacks: Any
) -> None:
    """At 22:00 with quiet hours 21:00–8:00 a 子育て send waits until 8:00; 防災 goes at once."""
    kobe, topics = city.municipality, city.data["topics"]
    services.messaging_settings_save(
        municipality=kobe,
        quiet_start=datetime.time(21),
        quiet_end=datetime.time(8),
        approval_threshold=1000,
        actor=ACTOR,
    )
    subscriber(kobe, "a@example.jp", topics=[topics["kosodate"], topics["bousai"]])
    normal = _send(city, _template(city))
    urgent = _send(city, _template(city, "bousai"))
    assert (normal.urgent, urgent.urgent) == (False, True)
    DBTaskResult.objects.all().delete()

    with django_capture_on_commit_callbacks(execute=True):
        assert delivery.send_dispatch(send_id=normal.pk, now=_at(22)) == "held"
        assert delivery.send_dispatch(send_id=urgent.pk, now=_at(22)) == "started"

    normal.refresh_from_db()
    urgent.refresh_from_db()
    assert (normal.state, urgent.state) == (SendState.HELD, SendState.SENDING)
    assert not Delivery.objects.filter(send=normal).exists()
    assert Delivery.objects.filter(send=urgent).count() == 1
    # Released by the queue at 8:00 the next morning.
    next_morning = _at(8) + datetime.timedelta(days=1)
    [held] = DBTaskResult.objects.filter(task_path__endswith=".send_dispatch")
    assert (held.args_kwargs["kwargs"], held.run_after) == ({"send_id": normal.pk}, next_morning)
    assert DBTaskResult.objects.filter(task_path__endswith=".send_deliver").count() == 1
    # At 8:00 the held send goes.
    assert delivery.send_dispatch(send_id=normal.pk, now=next_morning) == "started"
    assert Delivery.objects.filter(send=normal).count() == 1


@pytest.mark.parametrize(
    ("start", "end", "now", "release"),
    [
        ((21, 0), (8, 0), (7, 59), (8, 0)),
        ((21, 0), (8, 0), (8, 0), None),
        ((21, 0), (8, 0), (20, 59), None),
        ((1, 0), (5, 0), (3, 0), (5, 0)),
        ((1, 0), (5, 0), (5, 30), None),
        ((0, 0), (0, 0), (3, 0), None),
    ],
)
def test_quiet_hours_boundaries(
    start: tuple[int, int], end: tuple[int, int], now: tuple[int, int], release: Any
) -> None:
    from madoguchi.messaging.models import MessagingSettings

    row = MessagingSettings(quiet_start=datetime.time(*start), quiet_end=datetime.time(*end))
    got = delivery.quiet_hours_release(settings_row=row, now=_at(*now))
    assert got == (None if release is None else _at(*release))


@pytest.mark.django_db(transaction=True)
def test_a_send_above_the_threshold_waits_for_another_supervisor(
    city: Tenant, smtp_server: _SMTPServer, signal_handlers: None
) -> None:
    kobe, topics = city.municipality, city.data["topics"]
    services.messaging_settings_save(
        municipality=kobe,
        quiet_start=datetime.time(0),
        quiet_end=datetime.time(0),
        approval_threshold=1,
        actor=ACTOR,
    )
    for n in range(2):
        subscriber(kobe, f"r{n}@example.jp", topics=[topics["kosodate"]])
    template = _template(city)
    clerk = city.client("clerk")
    response = clerk.post(
        "/kobe/messages/staff/sends/new/",
        {"template": template.pk, "topics": ["kosodate"], "languages": ["ja"], "action": "count"},
    )
    assert "宛先は 2 人です（メール 2 人、LINE 0 人）。" in response.content.decode()
    response = clerk.post(
        "/kobe/messages/staff/sends/new/",
        {"template": template.pk, "topics": ["kosodate"], "languages": ["ja"], "action": "send"},
    )
    send = Send.objects.get()
    assert response["Location"] == f"/kobe/messages/staff/sends/{send.pk}/"
    assert send.state == SendState.AWAITING_APPROVAL
    run_worker()
    assert smtp_server.messages == []

    action = f"/kobe/messages/staff/sends/{send.pk}/action/"
    refused = clerk.post(action, {"action": "approve"})
    assert refused.status_code == 403
    assert Send.objects.get().state == SendState.AWAITING_APPROVAL
    with pytest.raises(MessagingError) as raised:
        services.send_approve(send=send, actor=city.client and _actor_of(city, "clerk"))
    assert raised.value.code == MessagingErrorCode.APPROVAL_REFUSED

    assert city.client("supervisor").post(action, {"action": "approve"}).status_code == 302
    run_worker()
    assert len(smtp_server.messages) == 2
    send.refresh_from_db()
    assert (send.state, send.approved_by) == (SendState.DONE, city.staff["supervisor"])


def _actor_of(tenant: Tenant, role: str) -> Any:
    from madoguchi.audit.services import AuditActor

    return AuditActor(user=tenant.staff[role])


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("{name}さんへ", "使えない差し込み項目 {name} があります。"),
        ("{area!r}", "使えない差し込み項目 {area} があります。"),
        ("閉じない {area", "波かっこ { } の対応が正しくありません。"),
    ],
)
def test_a_template_with_a_bad_variable_is_refused_in_japanese(
    city: Tenant, body: str, message: str
) -> None:
    response = city.client("clerk").post(
        "/kobe/messages/staff/templates/new/",
        {"name": "t", "topic": "kosodate", "subject_ja": "件名", "body_ja": body},
    )
    assert response.status_code == 400
    assert message in response.content.decode()
    assert not Template.objects.exists()


def test_a_saved_template_shows_its_preview_in_both_languages(city: Tenant) -> None:
    template = _template(city, "bousai")
    page = city.client("clerk").get(f"/kobe/messages/staff/templates/{template.pk}/")
    text = page.content.decode()
    assert "神戸市から防災のお知らせ" in text
    assert "Disaster news from 神戸市" in text
    assert "緊急（防災）のお知らせです。配信を控える時間でも送ります。" in text


@pytest.mark.parametrize(
    ("path", "data", "message"),
    [
        (
            "sends/new/",
            {"template": "1", "languages": ["ja"], "action": "send"},
            "お知らせの種類を1つ以上選んでください。",
        ),
        (
            "sends/new/",
            {
                "template": "1",
                "topics": ["kosodate"],
                "languages": ["ja"],
                "scheduled_at": "きのう",
                "action": "send",
            },
            "日時は 2026-04-01 09:00 のように入力してください。",
        ),
        (
            "settings/",
            {"quiet_start": "25:00", "quiet_end": "8:00", "approval_threshold": "10"},
            "時刻は 21:00 のように入力してください。",
        ),
        (
            "areas/",
            {"code": "中央", "name": "中央区"},
            "コードは半角英数字・ハイフン・下線で入力してください。",
        ),
        ("topics/", {"code": "x", "name": ""}, "このフィールドは必須です。"),
    ],
)
def test_bad_input_on_staff_forms_gets_a_japanese_message(
    city: Tenant, path: str, data: dict[str, Any], message: str
) -> None:
    _template(city)
    before = snapshot(Send.objects.all()), snapshot(Template.objects.all())
    response = city.client("admin").post(f"/kobe/messages/staff/{path}", data)
    assert response.status_code == 400
    assert message in response.content.decode()
    assert (snapshot(Send.objects.all()), snapshot(Template.objects.all())) == before


def test_a_send_to_nobody_is_refused(city: Tenant) -> None:
    template = _template(city)
    response = city.client("clerk").post(
        "/kobe/messages/staff/sends/new/",
        {"template": template.pk, "topics": ["kosodate"], "languages": ["ja"], "action": "send"},
    )
    assert response.status_code == 400
    assert "この条件に当てはまる登録者がいません。" in response.content.decode()
    assert not Send.objects.exists()


def test_an_area_csv_is_imported_whole_or_not_at_all(city: Tenant) -> None:
    from django.core.files.uploadedfile import SimpleUploadedFile

    admin = city.client("admin")
    bad = SimpleUploadedFile("a.csv", "code,name\nhigashi,東区\n西,西区\n".encode())
    response = admin.post("/kobe/messages/staff/areas/", {"file": bad})
    assert response.status_code == 400
    assert (
        "2行目：コードは半角英数字・ハイフン・下線で入力してください。" in response.content.decode()
    )
    assert not Area.objects.filter(code="higashi").exists()  # the good first row was not kept
    good = SimpleUploadedFile("a.csv", "code,name,name_en\nhigashi,東区,Higashi\n".encode())
    assert admin.post("/kobe/messages/staff/areas/", {"file": good}).status_code == 302
    assert sorted(
        Area.objects.filter(municipality=city.municipality).values_list("code", flat=True)
    ) == [
        "chuo",
        "higashi",
        "nada",
    ]


def test_staff_of_another_municipality_cannot_read_or_change_messaging(
    city: Tenant, tenant_b: Tenant
) -> None:
    kobe, topics = city.municipality, city.data["topics"]
    subscriber(kobe, "private@example.jp", topics=[topics["kosodate"]])
    template = _template(city)
    send = _send(city, template)
    sayo_admin = tenant_b.client("admin")
    for path in (
        "staff/",
        "staff/topics/",
        "staff/areas/",
        "staff/settings/",
        f"staff/templates/{template.pk}/",
        f"staff/sends/{send.pk}/",
    ):
        assert_cannot_read(
            sayo_admin, f"/kobe/messages/{path}", must_not_contain=["private@example.jp", "健診"]
        )
    # Through their own municipality's URL the ids of another's rows are not found.
    assert_cannot_read(sayo_admin, f"/sayo/messages/staff/sends/{send.pk}/")
    assert_cannot_read(sayo_admin, f"/sayo/messages/staff/templates/{template.pk}/")
    state = lambda: (snapshot(Send.objects.all()), snapshot(Template.objects.all()))  # noqa: E731
    assert_cannot_change(
        sayo_admin,
        f"/sayo/messages/staff/sends/{send.pk}/action/",
        data={"action": "cancel"},
        state=state,
    )
    assert_cannot_change(
        sayo_admin,
        f"/kobe/messages/staff/sends/{send.pk}/action/",
        data={"action": "cancel"},
        state=state,
    )
    assert_cannot_change(
        sayo_admin,
        f"/kobe/messages/staff/templates/{template.pk}/",
        data={"name": "x", "topic": "kosodate", "subject_ja": "x", "body_ja": "x"},
        state=state,
    )
    # A resident's link works only under its own municipality.
    token = Subscriber.objects.get().token
    assert Client().get(f"/sayo/messages/my/{token}/").status_code == 404
    # And a service refuses another municipality's topic in a segment.
    with pytest.raises(MessagingError):
        services.send_create(
            municipality=tenant_b.municipality,
            template=template,
            topics=[topics["kosodate"]],
            areas=[],
            languages=["ja"],
            scheduled_at=None,
            actor=ACTOR,
        )


def test_a_viewer_cannot_send_and_the_menu_shows_messaging_to_senders(city: Tenant) -> None:
    assert city.client("viewer").get("/kobe/messages/staff/").status_code == 403
    home = city.client("clerk").get("/kobe/staff/").content.decode()
    assert "/kobe/messages/staff/" in home
    assert "/kobe/messages/staff/topics/" not in home
    admin_home = city.client("admin").get("/kobe/staff/").content.decode()
    assert "/kobe/messages/staff/topics/" in admin_home
