"""Self-reports on LINE: one-time linking codes, the webhook replies, the morning reminders.

Events are built with the official SDK's models and signed like LINE signs them; the Messaging
API is a local server that records each request (``tests.consultation.conftest.line_server``).
"""

from __future__ import annotations

import datetime
import re
from io import StringIO
from typing import Any

import pytest
from django.conf import settings
from django.core.management import call_command
from django.db import connection
from django.test import Client
from django.utils import timezone
from linebot.v3.webhooks import PostbackContent, PostbackEvent

from madoguchi.audit.models import AuditEntry
from madoguchi.audit.services import AuditActor
from madoguchi.consultation.models import Conversation, Message
from madoguchi.consultation.services import line_channel_save
from madoguchi.core.crypto import blind_index
from madoguchi.surveillance import linelink, services
from madoguchi.surveillance.errors import ErrorCode
from madoguchi.surveillance.models import (
    Case,
    LineLinkCode,
    LineReportLink,
    ReportLink,
    SelfReport,
)
from madoguchi.surveillance.services import report_link_issue
from tests.consultation import conftest as consultation_fixtures
from tests.consultation.conftest import LineServer
from tests.consultation.test_line import (
    PUSH,
    REPLY,
    SECRET,
    TOKEN,
    _common,
    body_of,
    post,
    signature,
    text_event,
)
from tests.isolation import signed_in_client, snapshot
from tests.surveillance.factories import ACTOR, World, adult, file, recent

# The recording Messaging API server of the consultation tests.
recording_server = consultation_fixtures.line_server

USER = "U" + "1" * 32
OTHER = "U" + "2" * 32


@pytest.fixture
def kobe_line(world: World) -> World:
    line_channel_save(
        municipality=world.kobe.municipality,
        channel_secret=SECRET,
        access_token=TOKEN,
        actor=AuditActor(label="test"),
    )
    return world


def _live_case(world: World, name: str = "山田 太郎") -> tuple[Case, str]:
    """A Kobe case under observation (by the real clock) and its report-link token."""
    case = file(world, recent(name=name), real_today=True).case
    token = report_link_issue(cases=[case], actor=ACTOR)
    return case, token


def _code(world: World, token: str) -> str:
    return services.line_code_issue_for_token(
        municipality=world.kobe.municipality, token=token, actor=ACTOR
    ).code


def _say(text: str, event_id: str, *, user: str = USER, slug: str = "kobe", **kw: Any) -> int:
    event = text_event(text, event_id=event_id, user=user)
    body = body_of(event)
    return post(body, sig=kw.get("sig", "auto"), slug=slug)


def _report_url(token: str) -> str:
    return f"{settings.MADOGUCHI_SITE_URL}/kobe/health/report/{token}/"


def links() -> list[dict[str, Any]]:
    return snapshot(LineReportLink.objects.all())


# ------------------------------------------------------------------------------- code format


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("ACDE-2345", "ACDE2345"),
        ("acde2345", "ACDE2345"),
        ("ＡＣＤＥ－２３４５", "ACDE2345"),
        ("連携 ACDE-2345", "ACDE2345"),
        ("連携コード：ACDE 2345", "ACDE2345"),
        ("連携 ABCDEFGH", "ABCDEFGH"),  # after 連携 every attempt counts
        ("  ACDE ー 2345 ", "ACDE2345"),
    ],
)
def test_a_linking_code_is_recognised_in_the_forms_people_type(text: str, code: str) -> None:
    assert linelink.code_parse(text) == code


@pytest.mark.parametrize(
    "text",
    ["MYNUMBER", "COVID-19A", "12345678", "住民票がほしい", "12345-67890 ABCD-EFGH", "", "A" * 500],
)
def test_ordinary_messages_are_not_taken_for_a_code(text: str) -> None:
    assert linelink.code_parse(text) is None


def test_new_codes_use_only_unambiguous_characters() -> None:
    for _i in range(200):
        code = linelink.code_new()
        assert len(code) == 8
        assert set(code) <= set(linelink.CODE_ALPHABET)
        assert not set(code) & set("0O1IL8BSZUV")
        assert linelink.code_parse(linelink.code_display(code)) == code


# ------------------------------------------------------------------------------------ issuing


def test_the_patient_gets_a_code_on_their_report_page(kobe_line: World) -> None:
    world = kobe_line
    _case, token = _live_case(world)
    client = Client()
    page = client.get(f"/kobe/health/report/{token}/").content.decode()
    assert "LINEで毎日の報告を受け取る" in page
    response = client.post(f"/kobe/health/report/{token}/line/")
    assert response.status_code == 200
    body = response.content.decode()
    shown = re.search(r'id="line-code" lang="en">([A-Z0-9]{4}-[A-Z0-9]{4})<', body)
    assert shown is not None
    code = shown.group(1).replace("-", "")
    assert "神戸市のLINE公式アカウントを友だち追加し" in body
    row = LineLinkCode.objects.get()
    assert row.code_hash == blind_index(code, purpose="surveillance.line_code")
    with connection.cursor() as cursor:
        cursor.execute("SELECT code_hash, token FROM surveillance_linelinkcode")
        raw = " ".join(cursor.fetchone())
    assert code not in raw
    assert token not in raw
    assert row.expires_at <= timezone.now() + datetime.timedelta(hours=24)
    entry = AuditEntry.objects.get(action="surveillance.line_code_issued")
    assert (entry.actor_label, entry.object_id) == ("patient", str(row.pk))


def test_a_new_code_replaces_the_unused_one(kobe_line: World) -> None:
    _case, token = _live_case(kobe_line)
    first = _code(kobe_line, token)
    second = _code(kobe_line, token)
    assert first != second
    assert LineLinkCode.objects.count() == 1


def test_issuing_codes_is_rate_limited(kobe_line: World) -> None:
    _case, token = _live_case(kobe_line)
    for _i in range(linelink.ISSUE_LIMIT[0]):
        _code(kobe_line, token)
    response = Client().post(f"/kobe/health/report/{token}/line/")
    assert response.status_code == 429
    assert "しばらく発行できません" in response.content.decode()
    assert LineLinkCode.objects.count() == 1


def test_no_line_offer_without_the_bodys_official_account(world: World) -> None:
    _case, token = _live_case(world)
    client = Client()
    assert (
        "LINEで毎日の報告を受け取る"
        not in client.get(f"/kobe/health/report/{token}/").content.decode()
    )
    response = client.post(f"/kobe/health/report/{token}/line/")
    assert response.status_code == 404
    assert "LINEでの体調報告の受付を行っていません" in response.content.decode()
    assert not LineLinkCode.objects.exists()


def test_bad_tokens_get_no_code(kobe_line: World) -> None:
    assert Client().post("/kobe/health/report/nope/line/").status_code == 404
    assert Client().get("/kobe/health/report/nope/line/").status_code == 405
    expired = file(kobe_line, adult()).case  # observation ended days ago
    token = report_link_issue(cases=[expired], actor=ACTOR)
    assert Client().post(f"/kobe/health/report/{token}/line/").status_code == 410
    assert not LineLinkCode.objects.exists()


def test_staff_issue_a_code_on_the_case_page_with_a_fresh_household_link(
    kobe_line: World,
) -> None:
    world = kobe_line
    parent, _token = _live_case(world)
    child = file(
        world, recent(name="山田 花", birth_date=datetime.date(2020, 5, 5)), real_today=True
    ).case
    old_token = report_link_issue(cases=[parent, child], actor=ACTOR)
    nurse = signed_in_client(world.nurse)
    page = nurse.get(f"/kobe/health/cases/{parent.pk}/").content.decode()
    assert "LINE連携コードを発行する" in page
    response = nurse.post(f"/kobe/health/cases/{parent.pk}/line-code/")
    assert response.status_code == 200
    body = response.content.decode()
    assert re.search(r'id="line-code" lang="en">[A-Z0-9]{4}-[A-Z0-9]{4}<', body)
    new_link = re.search(r'id="report-link">http://testserver/kobe/health/report/([^/]+)/<', body)
    assert new_link is not None
    parent.refresh_from_db()
    child.refresh_from_db()
    assert (
        parent.report_link_id == child.report_link_id == LineLinkCode.objects.get().report_link_id
    )
    assert Client().get(f"/kobe/health/report/{old_token}/").status_code == 404
    entry = AuditEntry.objects.get(action="surveillance.line_code_issued")
    assert entry.actor_id == world.nurse.pk
    assert nurse.get(f"/kobe/health/cases/{parent.pk}/line-code/").status_code == 405


def test_a_hyogo_case_is_offered_line_only_through_hyogos_account(kobe_line: World) -> None:
    """A 佐用町 patient's case belongs to 兵庫県, which has no LINE account: nothing offered."""
    world = kobe_line
    case = file(world, recent(residence_code="285013", name="佐用 次郎"), real_today=True).case
    hyogo = signed_in_client(world.hyogo_nurse)
    url = f"/{world.hyogo.slug}/health/cases/{case.pk}/"
    assert "LINE連携コードを発行する" not in hyogo.get(url).content.decode()
    before = snapshot(Case.objects.all())
    response = hyogo.post(f"{url}line-code/")
    assert response.status_code == 404
    assert snapshot(Case.objects.all()) == before
    assert not LineLinkCode.objects.exists()
    # Kobe's nurse cannot issue one for Hyogo's case through Kobe's pages.
    kobe = signed_in_client(world.nurse)
    assert kobe.post(f"/kobe/health/cases/{case.pk}/line-code/").status_code == 404
    assert not LineLinkCode.objects.exists()


# ------------------------------------------------------------------------------------ linking


def test_sending_the_code_links_and_replies_with_the_personal_link(
    kobe_line: World, recording_server: LineServer, django_capture_on_commit_callbacks: Any
) -> None:
    _case, token = _live_case(kobe_line)
    code = _code(kobe_line, token)
    with django_capture_on_commit_callbacks(execute=True):
        assert _say(f"連携 {code}", "01HLINK") == 200
    [request] = recording_server.requests
    assert request.path == REPLY
    assert request.headers["authorization"] == f"Bearer {TOKEN}"
    assert request.body["replyToken"] == "reply-01HLINK"
    [message] = request.body["messages"]
    assert message["type"] == "text"
    assert message["text"].startswith("LINEとの連携が完了しました。")
    assert message["text"].endswith(f"今日の体調を報告する：{_report_url(token)}")
    assert message["quickReply"]["items"] == [
        {
            "type": "action",
            "action": {
                "type": "postback",
                "label": "体調報告",
                "data": "health:report",
                "displayText": "体調報告",
            },
        }
    ]
    linked = LineReportLink.objects.get()
    assert (linked.line_user_id, linked.token) == (USER, token)
    assert linked.line_user_key == blind_index(USER, purpose="surveillance.line_user")
    with connection.cursor() as cursor:
        cursor.execute("SELECT line_user_id, token FROM surveillance_linereportlink")
        raw = " ".join(cursor.fetchone())
    assert USER not in raw
    assert token not in raw
    assert LineLinkCode.objects.get().used_at is not None
    # Nothing of it lands in the consultation assistant's conversations.
    assert not Conversation.objects.exists()
    assert not Message.objects.exists()
    entry = AuditEntry.objects.get(action="surveillance.line_linked")
    assert (entry.actor_label, entry.object_id) == ("line", str(linked.pk))
    assert USER not in str(entry.data)


def test_a_wrong_code_links_nothing(
    kobe_line: World, recording_server: LineServer, django_capture_on_commit_callbacks: Any
) -> None:
    _case, token = _live_case(kobe_line)
    code = _code(kobe_line, token)
    wrong = "ACDE2345" if code.replace("-", "") != "ACDE2345" else "ACDE2346"
    with django_capture_on_commit_callbacks(execute=True):
        assert _say(wrong, "01HWRONG") == 200
    [body] = recording_server.bodies(REPLY)
    assert body["messages"][0]["text"] == (
        "連携コードが正しくありません。保健所から案内された8文字のコードをお確かめください。"
    )
    assert links() == []
    assert LineLinkCode.objects.get().used_at is None


def test_a_used_code_is_refused(
    kobe_line: World, recording_server: LineServer, django_capture_on_commit_callbacks: Any
) -> None:
    _case, token = _live_case(kobe_line)
    code = _code(kobe_line, token)
    with django_capture_on_commit_callbacks(execute=True):
        _say(code, "01HFIRST")
    before = links()
    with django_capture_on_commit_callbacks(execute=True):
        _say(code, "01HAGAIN", user=OTHER)
    _first, again = recording_server.bodies(REPLY)
    assert again["messages"][0]["text"].startswith("この連携コードはすでに使われています。")
    assert links() == before
    assert [link["line_user_key"] for link in before] == [
        blind_index(USER, purpose="surveillance.line_user")
    ]


def test_an_expired_code_is_refused(
    kobe_line: World, recording_server: LineServer, django_capture_on_commit_callbacks: Any
) -> None:
    _case, token = _live_case(kobe_line)
    code = _code(kobe_line, token)
    LineLinkCode.objects.update(expires_at=timezone.now() - datetime.timedelta(seconds=1))
    with django_capture_on_commit_callbacks(execute=True):
        _say(code, "01HOLD")
    [body] = recording_server.bodies(REPLY)
    assert body["messages"][0]["text"].startswith("この連携コードは有効期限が切れています。")
    assert links() == []


def test_a_code_expires_after_24_hours(kobe_line: World) -> None:
    _case, token = _live_case(kobe_line)
    code = _code(kobe_line, token).replace("-", "")
    later = timezone.now() + datetime.timedelta(hours=24, seconds=1)
    answer = linelink.line_link_with_code(
        municipality=kobe_line.kobe.municipality, line_user_id=USER, code=code, now=later
    )
    assert answer.code == ErrorCode.LINE_CODE_EXPIRED
    assert links() == []


def test_a_kobe_code_does_not_link_through_another_bodys_account(
    kobe_line: World, recording_server: LineServer, django_capture_on_commit_callbacks: Any
) -> None:
    """兵庫県 runs a health centre and a LINE account of its own; Kobe's codes are not its codes."""
    world = kobe_line
    line_channel_save(
        municipality=world.hyogo,
        channel_secret="hyogo-secret",
        access_token="hyogo-token",
        actor=AuditActor(label="test"),
    )
    _case, token = _live_case(world)
    code = _code(world, token)
    body = body_of(text_event(code, event_id="01HHYOGO"))
    with django_capture_on_commit_callbacks(execute=True):
        assert post(body, sig=signature(body, "hyogo-secret"), slug=world.hyogo.slug) == 200
    [request] = recording_server.requests
    assert request.headers["authorization"] == "Bearer hyogo-token"
    assert request.body["messages"][0]["text"].startswith("連携コードが正しくありません。")
    assert links() == []
    assert LineLinkCode.objects.get().used_at is None


def test_a_sayo_patient_links_through_hyogos_account(
    kobe_line: World, recording_server: LineServer, django_capture_on_commit_callbacks: Any
) -> None:
    """The case of a 佐用町 resident belongs to 兵庫県: its code works on 兵庫県's account only."""
    world = kobe_line
    line_channel_save(
        municipality=world.hyogo,
        channel_secret="hyogo-secret",
        access_token="hyogo-token",
        actor=AuditActor(label="test"),
    )
    case = file(world, recent(residence_code="285013", name="佐用 次郎"), real_today=True).case
    hyogo = signed_in_client(world.hyogo_nurse)
    url = f"/{world.hyogo.slug}/health/cases/{case.pk}/"
    assert "LINE連携コードを発行する" in hyogo.get(url).content.decode()
    page = hyogo.post(f"{url}line-code/").content.decode()
    shown = re.search(r'id="line-code" lang="en">([A-Z0-9-]{9})<', page)
    assert shown is not None
    with django_capture_on_commit_callbacks(execute=True):
        assert _say(shown.group(1), "01HKOBE") == 200  # Kobe's account: not Kobe's code
    assert links() == []
    body = body_of(text_event(shown.group(1), event_id="01HHYOGO"))
    with django_capture_on_commit_callbacks(execute=True):
        assert post(body, sig=signature(body, "hyogo-secret"), slug=world.hyogo.slug) == 200
    kobe_reply, hyogo_reply = recording_server.requests
    assert kobe_reply.body["messages"][0]["text"].startswith("連携コードが正しくありません。")
    assert hyogo_reply.headers["authorization"] == "Bearer hyogo-token"
    assert f"/{world.hyogo.slug}/health/report/" in hyogo_reply.body["messages"][0]["text"]
    linked = LineReportLink.objects.get()
    case.refresh_from_db()
    assert (linked.municipality, linked.report_link_id) == (world.hyogo, case.report_link_id)


def test_a_bad_request_links_nothing(
    kobe_line: World, recording_server: LineServer, django_capture_on_commit_callbacks: Any
) -> None:
    _case, token = _live_case(kobe_line)
    code = _code(kobe_line, token)
    body = body_of(text_event(code, event_id="01HBAD"))
    with django_capture_on_commit_callbacks(execute=True):
        assert post(body, sig=signature(body, "wrong-secret")) == 400
        assert post(body, sig=None) == 400
        assert post(b"not json") == 400
    assert links() == []
    assert LineLinkCode.objects.get().used_at is None
    assert recording_server.requests == []


def test_guessing_is_limited_per_line_user(
    kobe_line: World, recording_server: LineServer, django_capture_on_commit_callbacks: Any
) -> None:
    _case, token = _live_case(kobe_line)
    code = _code(kobe_line, token)
    wrong = next(c for c in ("ACDE2345", "ACDE2346") if c != code.replace("-", ""))
    with django_capture_on_commit_callbacks(execute=True):
        for n in range(linelink.FAILURE_LIMIT_USER[0]):
            _say(wrong, f"01HGUESS{n}")
        _say(code, "01HRIGHT")
    *_guesses, last = recording_server.bodies(REPLY)
    assert last["messages"][0]["text"].startswith(
        "コードの入力が続いたため、しばらく受け付けられません。"
    )
    assert links() == []
    assert LineLinkCode.objects.get().used_at is None
    # Another user is not blocked by this one's guesses.
    with django_capture_on_commit_callbacks(execute=True):
        _say(code, "01HOTHER", user=OTHER)
    assert recording_server.bodies(REPLY)[-1]["messages"][0]["text"].startswith(
        "LINEとの連携が完了"
    )


def test_guessing_is_limited_per_body(kobe_line: World, monkeypatch: pytest.MonkeyPatch) -> None:
    """Many accounts guessing together hit the body's limit of failures per hour."""
    monkeypatch.setattr(linelink, "FAILURE_LIMIT_BODY", (3, 3600))
    _case, token = _live_case(kobe_line)
    code = _code(kobe_line, token).replace("-", "")
    municipality = kobe_line.kobe.municipality
    for n in range(3):
        answer = linelink.line_link_with_code(
            municipality=municipality, line_user_id=f"U{n:032d}", code="ACDE2345"
        )
        assert answer.code in {ErrorCode.LINE_CODE_WRONG}
    answer = linelink.line_link_with_code(municipality=municipality, line_user_id=USER, code=code)
    assert answer.code == ErrorCode.RATE_LIMITED
    assert links() == []


# --------------------------------------------------------------------------------- 体調報告


def test_after_linking_the_report_word_and_the_button_return_the_link(
    kobe_line: World, recording_server: LineServer, django_capture_on_commit_callbacks: Any
) -> None:
    _case, token = _live_case(kobe_line)
    code = _code(kobe_line, token)
    button = PostbackEvent(
        type="postback",
        postback=PostbackContent(data="health:report"),
        **_common("01HPB", user=USER),
    )
    with django_capture_on_commit_callbacks(execute=True):
        _say(code, "01HLINK")
        _say("体調報告", "01HASK")
        assert post(body_of(button)) == 200
    _link, asked, pressed = recording_server.bodies(REPLY)
    expected = (
        f"今日の体調は、次のリンクから報告してください。\n体調を報告する：{_report_url(token)}"
    )
    assert asked["messages"][0]["text"] == expected
    assert pressed["messages"][0]["text"] == expected
    assert pressed["replyToken"] == "reply-01HPB"
    assert not Conversation.objects.exists()


def test_a_body_without_a_health_centre_leaves_every_message_to_the_assistant(
    world: World,
) -> None:
    sayo = world.sayo.municipality
    assert (
        services.line_message_handle(municipality=sayo, line_user_id=USER, text="体調報告") is None
    )
    assert (
        services.line_message_handle(municipality=sayo, line_user_id=USER, text="連携 ACDE-2345")
        is None
    )
    assert (
        services.line_postback_handle(municipality=sayo, line_user_id=USER, data="health:report")
        is None
    )


def test_the_report_word_before_linking_explains_how(
    kobe_line: World, recording_server: LineServer, django_capture_on_commit_callbacks: Any
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        _say("体調報告", "01HASK")
    [body] = recording_server.bodies(REPLY)
    assert body["messages"][0]["text"].startswith("体調報告のリンクは、LINEと連携した方に")


def test_after_the_observation_period_the_report_word_says_it_ended_and_unlinks(
    kobe_line: World, recording_server: LineServer, django_capture_on_commit_callbacks: Any
) -> None:
    case, token = _live_case(kobe_line)
    code = _code(kobe_line, token)
    with django_capture_on_commit_callbacks(execute=True):
        _say(code, "01HLINK")
    ReportLink.objects.filter(cases=case).update(
        expires_at=timezone.now() - datetime.timedelta(seconds=1)
    )
    with django_capture_on_commit_callbacks(execute=True):
        _say("体調報告", "01HASK")
    assert recording_server.bodies(REPLY)[-1]["messages"][0]["text"].startswith(
        "療養期間が終わったため、体調報告のリンクの有効期限が切れました。"
    )
    assert links() == []
    assert AuditEntry.objects.filter(action="surveillance.line_unlinked").count() == 1


# ---------------------------------------------------------------------------------- reminders


def _link(world: World, token: str, user: str) -> None:
    code = _code(world, token).replace("-", "")
    answer = linelink.line_link_with_code(
        municipality=world.kobe.municipality, line_user_id=user, code=code
    )
    assert answer.code is None


def test_the_morning_reminder_goes_once_a_day_to_those_who_have_not_reported(
    kobe_line: World, recording_server: LineServer
) -> None:
    world = kobe_line
    _quiet, quiet_token = _live_case(world)
    done, done_token = _live_case(world, name="報告 済子")
    _link(world, quiet_token, USER)
    _link(world, done_token, OTHER)
    today = timezone.localdate()
    done.refresh_from_db()
    assert done.report_link is not None
    services.self_report_submit(
        link=done.report_link,
        case=done,
        day=today,
        values={"temperature": "36.5"},
        urgent_signs=[],
    )
    municipality = world.kobe.municipality
    assert linelink.line_reminders_send(municipality=municipality, day=today) == 1
    [push] = recording_server.requests
    assert push.path == PUSH
    assert push.headers["authorization"] == f"Bearer {TOKEN}"
    assert push.body["to"] == USER
    [message] = push.body["messages"]
    assert message["type"] == "text"
    assert message["text"] == (
        "おはようございます。今日の体調の報告をお願いします。\n"
        "息が苦しいなど急な変化があれば、報告を待たずに 078-000-0000 にお電話ください。\n"
        f"今日の体調を報告する：{_report_url(quiet_token)}"
    )
    assert message["quickReply"]["items"][0]["action"]["data"] == "health:report"
    assert len(push.headers["x-line-retry-key"]) == 36
    # Idempotent the same day, through the command too.
    assert linelink.line_reminders_send(municipality=municipality, day=today) == 0
    out = StringIO()
    call_command("surveillance", "line-reminders", "--day", today.isoformat(), stdout=out)
    assert "281000 神戸市: 0 reminders" in out.getvalue()
    assert len(recording_server.requests) == 1
    assert AuditEntry.objects.filter(action="surveillance.line_reminders_sent").count() == 1
    # The next day both are reminded (neither has reported yet).
    tomorrow = today + datetime.timedelta(days=1)
    assert linelink.line_reminders_send(municipality=municipality, day=tomorrow) == 2
    assert SelfReport.objects.count() == 1


def test_a_failed_push_is_tried_again_by_a_later_run(
    kobe_line: World, recording_server: LineServer
) -> None:
    _case, token = _live_case(kobe_line)
    _link(kobe_line, token, USER)
    recording_server.status = 500
    municipality = kobe_line.kobe.municipality
    today = timezone.localdate()
    assert linelink.line_reminders_send(municipality=municipality, day=today) == 0
    assert LineReportLink.objects.get().reminded_on is None
    recording_server.status = 200
    assert linelink.line_reminders_send(municipality=municipality, day=today) == 1
    assert LineReportLink.objects.get().reminded_on == today
    retry_keys = {r.headers["x-line-retry-key"] for r in recording_server.requests}
    assert len(retry_keys) == 1  # LINE can drop the repeat if the first one did arrive


def test_when_the_link_expires_nothing_is_pushed_and_the_user_is_unlinked(
    kobe_line: World, recording_server: LineServer
) -> None:
    case, token = _live_case(kobe_line)
    _link(kobe_line, token, USER)
    after = case.observation_end + datetime.timedelta(days=1)
    later = timezone.make_aware(datetime.datetime.combine(after, datetime.time(8)))
    assert (
        linelink.line_reminders_send(municipality=kobe_line.kobe.municipality, day=after, now=later)
        == 0
    )
    assert recording_server.requests == []
    assert links() == []
    entry = AuditEntry.objects.get(action="surveillance.line_unlinked")
    assert entry.data["reason"] == "expired"


def test_no_reminders_without_the_official_account(
    kobe_line: World, recording_server: LineServer
) -> None:
    _case, token = _live_case(kobe_line)
    _link(kobe_line, token, USER)
    from madoguchi.consultation.models import LineChannel

    LineChannel.objects.update(is_active=False)
    today = timezone.localdate()
    assert linelink.line_reminders_send(municipality=kobe_line.kobe.municipality, day=today) == 0
    assert recording_server.requests == []
    assert LineReportLink.objects.get().reminded_on is None


def test_the_command_refuses_a_bad_day(world: World) -> None:
    from django.core.management.base import CommandError

    with pytest.raises(CommandError):
        call_command("surveillance", "line-reminders", "--day", "2026-13-01")


def test_a_failed_reminder_is_a_logged_notice_that_the_retry_delivers_once(
    kobe_line: World, recording_server: LineServer, settings: Any
) -> None:
    """The reminder goes through messaging's notification path: logged, retried, once a day."""
    from madoguchi.messaging.models import Notice, NoticeState
    from madoguchi.messaging.notices import notices_deliver_due

    settings.MESSAGING_RETRY_BASE_SECONDS = 0
    _case, token = _live_case(kobe_line)
    _link(kobe_line, token, USER)
    municipality = kobe_line.kobe.municipality
    today = timezone.localdate()
    recording_server.status = 500
    assert linelink.line_reminders_send(municipality=municipality, day=today) == 0
    notice = Notice.objects.get()
    assert (notice.kind, notice.channel, notice.recipient) == (
        "surveillance.line_reminder",
        "line",
        USER,
    )
    assert (notice.state, notice.attempts) == (NoticeState.QUEUED, 1)
    assert notice.reason.startswith("500")

    recording_server.status = 200
    assert notices_deliver_due() == 1
    assert Notice.objects.get().state == NoticeState.SENT
    # A later run the same day finds it delivered: no second push.
    assert linelink.line_reminders_send(municipality=municipality, day=today) == 1
    pushes = [r for r in recording_server.requests if r.path == PUSH]
    assert len(pushes) == 2  # the refused one and the delivered one
    assert len({r.headers["x-line-retry-key"] for r in pushes}) == 1
    assert Notice.objects.count() == 1
