"""E-mail to staff when a conversation is handed over, and reminders, over a real SMTP server."""

from __future__ import annotations

import datetime
import email
import email.header
import email.utils
from typing import Any

import pytest
from django.conf import settings
from django.test import Client
from django.utils import timezone
from django_tasks.base import TaskResultStatus
from django_tasks_db.models import DBTaskResult

from madoguchi.accounts.models import User
from madoguchi.accounts.services import staff_user_create
from madoguchi.audit.services import AuditActor
from madoguchi.consultation.assistant import assistant_handle_action, conversation_open
from madoguchi.consultation.models import Channel, Conversation, ConversationState, Message
from madoguchi.consultation.notify import staff_mail_recipients
from madoguchi.consultation.tasks import notify_staff
from madoguchi.tenants.models import Role
from madoguchi.tenants.services import department_ensure, membership_grant
from tests.isolation import PASSWORD, Tenant, signed_in_client
from tests.procedures.test_submit import _SMTPServer, closed_port, smtp_server

__all__ = ["smtp_server"]  # the loopback SMTP server fixture of the procedures tests

CHAT = "/kobe/chat/"
QUESTION = "マイナンバーカードをなくした"
FOLLOW_UP = "カードの再発行に写真は要りますか"
IMMEDIATE = {"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}}
DEPARTMENT_NAMES = {"shimin": "市民課", "welfare": "福祉課"}


def member(
    tenant: Tenant,
    name: str,
    *,
    department: str | None,
    role: Role = Role.CLERK,
    email_address: str = "",
    active: bool = True,
) -> User:
    """A staff member of ``department`` (created when missing; None: the whole municipality)."""
    actor = AuditActor(label="test")
    dept = None
    if department is not None:
        dept = department_ensure(
            municipality=tenant.municipality,
            code=department,
            name=DEPARTMENT_NAMES[department],
            actor=actor,
        )
    user = staff_user_create(username=name, password=PASSWORD, email=email_address)
    if not active:
        user.is_active = False
        user.save(update_fields=["is_active"])
    membership_grant(
        municipality=tenant.municipality, user=user, role=role, department=dept, actor=actor
    )
    return user


@pytest.fixture
def staff(kobe_kb: Tenant, tenant_b: Tenant) -> dict[str, str]:
    """Staff with and without addresses in 市民課 (shimin), elsewhere in 神戸市 and in 佐用町."""
    addresses = {
        "shimin-clerk": "shimin-clerk@city.kobe.example.jp",
        "shimin-supervisor": "shimin-supervisor@city.kobe.example.jp",
        "shimin-viewer": "shimin-viewer@city.kobe.example.jp",
        "shimin-retired": "shimin-retired@city.kobe.example.jp",
        "welfare-clerk": "welfare-clerk@city.kobe.example.jp",
        "kobe-wide-admin": "admin@city.kobe.example.jp",
        "sayo-shimin-clerk": "shimin@town.sayo.example.jp",
    }
    member(kobe_kb, "shimin-clerk", department="shimin", email_address=addresses["shimin-clerk"])
    member(
        kobe_kb,
        "shimin-supervisor",
        department="shimin",
        role=Role.SUPERVISOR,
        email_address=addresses["shimin-supervisor"],
    )
    member(
        kobe_kb,
        "shimin-viewer",
        department="shimin",
        role=Role.VIEWER,
        email_address=addresses["shimin-viewer"],
    )
    member(
        kobe_kb,
        "shimin-retired",
        department="shimin",
        email_address=addresses["shimin-retired"],
        active=False,
    )
    member(kobe_kb, "shimin-no-address", department="shimin")
    member(kobe_kb, "welfare-clerk", department="welfare", email_address=addresses["welfare-clerk"])
    member(
        kobe_kb,
        "kobe-wide-admin",
        department=None,
        role=Role.ADMIN,
        email_address=addresses["kobe-wide-admin"],
    )
    # 佐用町 has a department with the same code; its staff must never hear of 神戸市's residents.
    member(
        tenant_b,
        "sayo-shimin-clerk",
        department="shimin",
        email_address=addresses["sayo-shimin-clerk"],
    )
    return addresses


def ask(client: Client, question: str) -> int:
    return client.post(CHAT, {"action": "ask", "question": question}).status_code


def hand_over(client: Client) -> Conversation:
    assert ask(client, QUESTION) == 302
    assert client.post(CHAT, {"action": "act", "payload": "handover"}).status_code == 302
    return Conversation.objects.get(municipality__slug="kobe")


def received(server: _SMTPServer) -> list[tuple[list[str], str, str]]:
    """(recipients, subject, body) of every message the server took, decoded."""
    out = []
    for _sender, recipients, data in server.messages:
        assert data.partition(b"\r\n\r\n")[0].isascii()  # headers travel MIME-encoded
        message = email.message_from_bytes(data)
        subject = str(email.header.make_header(email.header.decode_header(message["Subject"])))
        payload = message.get_payload(decode=True)
        assert isinstance(payload, bytes)
        body = payload.decode(message.get_content_charset() or "utf-8").replace("\r\n", "\n")
        out.append(([r.strip("<>") for r in recipients], subject, body))
    return out


def expected_body(conversation: Conversation, opening: str) -> str:
    conversation.refresh_from_db()
    assert conversation.handover_at is not None
    handed_over = timezone.localtime(conversation.handover_at)
    return (
        f"{opening}\n"
        "\n"
        "自治体：神戸市\n"
        "担当部署：市民課\n"
        "経路：Webチャット\n"
        f"引継ぎ日時：{handed_over:%Y-%m-%d %H:%M}\n"
        "\n"
        "次のページで内容を確認して対応してください（職員のログインが必要です）。\n"
        f"{settings.MADOGUCHI_SITE_URL}/kobe/chat/staff/conversations/{conversation.pk}/\n"
        "\n"
        "このメールには、相談の内容や相談者の情報は含めていません。\n"
        "このメールは送信専用です。返信しないでください。\n"
        "\n"
        "神戸市 相談アシスタント\n"
    )


HANDOVER_OPENING = "相談アシスタントから、職員の対応を待つ相談が引き継がれました。"
REMINDER_OPENING = (
    "職員の対応を待っている相談に、住民から新しいメッセージが届きました。"
    "まだどの職員も開いていません。"
)


def test_a_hand_over_mails_the_department_s_staff_and_nobody_else(
    staff: dict[str, str],
    smtp_server: _SMTPServer,
    settings: Any,
    django_capture_on_commit_callbacks: Any,
) -> None:
    """One mail per answering member of 市民課 with an address: no viewer, no inactive account,
    no other department, no municipality-wide admin, nobody of 佐用町; no message text."""
    settings.TASKS = IMMEDIATE
    resident = Client()
    with django_capture_on_commit_callbacks(execute=True):
        conversation = hand_over(resident)

    mails = received(smtp_server)
    assert sorted(to for to, _subject, _body in mails) == [
        [staff["shimin-clerk"]],
        [staff["shimin-supervisor"]],
    ]
    body = expected_body(conversation, HANDOVER_OPENING)
    for _to, subject, text in mails:
        assert subject == "【神戸市】担当者への相談が届きました"
        assert text == body
        assert QUESTION not in text
    assert [m.sender for m in Message.objects.order_by("pk")] == [
        "resident",
        "assistant",
        "resident",
        "assistant",
    ]


def test_the_mail_is_queued_as_a_task_after_the_commit(
    staff: dict[str, str], smtp_server: _SMTPServer, django_capture_on_commit_callbacks: Any
) -> None:
    """Nothing is queued before the commit; the worker's task sends the two mails."""
    resident = Client()
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        conversation = hand_over(resident)
    assert not DBTaskResult.objects.exists()
    for callback in callbacks:
        callback()
    [task] = DBTaskResult.objects.all()
    kwargs = {"conversation_id": str(conversation.pk), "kind": "handover"}
    assert (task.status, task.task_path, task.args_kwargs) == (
        TaskResultStatus.READY,
        "madoguchi.consultation.tasks.notify_staff",
        {"args": [], "kwargs": kwargs},
    )
    assert smtp_server.messages == []
    assert notify_staff.call(**kwargs) == 2
    assert len(smtp_server.messages) == 2


def test_reminders_at_most_hourly_and_only_while_nobody_has_opened_it(
    staff: dict[str, str],
    smtp_server: _SMTPServer,
    settings: Any,
    django_capture_on_commit_callbacks: Any,
) -> None:
    settings.TASKS = IMMEDIATE
    resident = Client()
    with django_capture_on_commit_callbacks(execute=True):
        conversation = hand_over(resident)
    assert len(smtp_server.messages) == 2

    def write(text: str) -> list[tuple[list[str], str, str]]:
        before = len(smtp_server.messages)
        with django_capture_on_commit_callbacks(execute=True):
            assert ask(resident, text) == 302
        return received(smtp_server)[before:]

    def an_hour_passes() -> None:
        Conversation.objects.filter(pk=conversation.pk).update(
            notified_at=timezone.now() - datetime.timedelta(minutes=61)
        )

    # Within the hour of the hand-over mail: no reminder.
    assert write(FOLLOW_UP) == []
    an_hour_passes()
    reminders = write("写真は必要ですか（再送）")
    assert sorted(to for to, _s, _b in reminders) == [
        [staff["shimin-clerk"]],
        [staff["shimin-supervisor"]],
    ]
    for _to, subject, text in reminders:
        assert subject == "【神戸市】対応待ちの相談に新しいメッセージがあります"
        assert text == expected_body(conversation, REMINDER_OPENING)
        assert "写真" not in text
    assert write("まだですか") == []  # one reminder per hour however often they write

    # A clerk of 市民課 opens it: no reminder even after an hour.
    clerk = signed_in_client(User.objects.get(username="shimin-clerk"))
    url = f"/kobe/chat/staff/conversations/{conversation.pk}/"
    inbox = clerk.get("/kobe/chat/staff/")  # the mail's recipients reach the page it links to
    assert inbox.status_code == 200
    assert url in inbox.content.decode()
    assert clerk.get(url).status_code == 200
    an_hour_passes()
    assert write("よろしくお願いします") == []

    # After a staff reply the resident's answer makes it wait again, unopened: a reminder.
    with django_capture_on_commit_callbacks(execute=True):
        assert clerk.post(url, {"text": "写真は不要です。"}).status_code == 302
    conversation.refresh_from_db()
    assert conversation.state == ConversationState.ANSWERED
    an_hour_passes()
    assert len(write("ありがとうございます。窓口に行きます。")) == 2
    conversation.refresh_from_db()
    assert conversation.state == ConversationState.WAITING


def test_a_viewer_opening_it_does_not_stop_reminders(
    staff: dict[str, str],
    smtp_server: _SMTPServer,
    settings: Any,
    django_capture_on_commit_callbacks: Any,
) -> None:
    """Only staff who may answer count as having opened it."""
    settings.TASKS = IMMEDIATE
    resident = Client()
    with django_capture_on_commit_callbacks(execute=True):
        conversation = hand_over(resident)
    viewer = signed_in_client(User.objects.get(username="shimin-viewer"))
    assert viewer.get(f"/kobe/chat/staff/conversations/{conversation.pk}/").status_code == 200
    Conversation.objects.filter(pk=conversation.pk).update(
        notified_at=timezone.now() - datetime.timedelta(hours=2)
    )
    with django_capture_on_commit_callbacks(execute=True):
        ask(resident, FOLLOW_UP)
    assert len(smtp_server.messages) == 4


def test_an_unassigned_hand_over_goes_to_municipality_wide_staff(
    kobe_kb: Tenant,
    staff: dict[str, str],
    smtp_server: _SMTPServer,
    django_capture_on_commit_callbacks: Any,
) -> None:
    conversation = conversation_open(municipality=kobe_kb.municipality, channel=Channel.WEB)
    with django_capture_on_commit_callbacks(execute=False):
        assistant_handle_action(conversation=conversation, payload="handover")
    conversation.refresh_from_db()
    assert conversation.department is None
    # The tenant kit's admin has no address; the one added above has.
    assert staff_mail_recipients(conversation=conversation) == [staff["kobe-wide-admin"]]
    assert notify_staff.call(conversation_id=str(conversation.pk), kind="handover") == 1
    [(to, subject, text)] = received(smtp_server)
    assert to == [staff["kobe-wide-admin"]]
    assert subject == "【神戸市】担当者への相談が届きました"
    assert "担当部署：未割当\n" in text


def test_nothing_is_sent_once_the_conversation_no_longer_waits(
    staff: dict[str, str], smtp_server: _SMTPServer, django_capture_on_commit_callbacks: Any
) -> None:
    resident = Client()
    with django_capture_on_commit_callbacks(execute=False):
        conversation = hand_over(resident)
    Conversation.objects.filter(pk=conversation.pk).update(state=ConversationState.CLOSED)
    assert notify_staff.call(conversation_id=str(conversation.pk), kind="handover") == 0
    assert notify_staff.call(conversation_id="not-a-uuid", kind="handover") == 0
    Conversation.objects.filter(pk=conversation.pk).update(state=ConversationState.WAITING)
    assert notify_staff.call(conversation_id=str(conversation.pk), kind="other") == 0
    assert smtp_server.messages == []


def test_a_mail_server_that_is_down_loses_nothing_the_resident_sent(
    staff: dict[str, str],
    settings: Any,
    django_capture_on_commit_callbacks: Any,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Connection refused is logged; the resident's messages and the hand-over stay."""
    settings.TASKS = IMMEDIATE
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST = "127.0.0.1"
    settings.EMAIL_PORT = closed_port()
    settings.EMAIL_TIMEOUT = 2
    resident = Client()
    with django_capture_on_commit_callbacks(execute=True):
        conversation = hand_over(resident)
    Conversation.objects.filter(pk=conversation.pk).update(
        notified_at=timezone.now() - datetime.timedelta(hours=2)
    )
    with django_capture_on_commit_callbacks(execute=True):
        assert ask(resident, FOLLOW_UP) == 302

    conversation.refresh_from_db()
    assert conversation.state == ConversationState.WAITING
    texts = [m.text for m in Message.objects.filter(sender="resident").order_by("pk")]
    assert texts == [QUESTION, "担当者に相談する", FOLLOW_UP]
    assert "担当者に伝えました。" in resident.get(CHAT).content.decode()
    records = [r for r in caplog.records if r.name == "madoguchi.consultation.notify"]
    assert [r.getMessage() for r in records] == [
        f"could not e-mail staff about conversation {conversation.pk}"
    ] * 2
    assert all(isinstance(r.exc_info and r.exc_info[1], ConnectionRefusedError) for r in records)


def test_the_sender_is_the_configured_address(
    staff: dict[str, str], smtp_server: _SMTPServer, django_capture_on_commit_callbacks: Any
) -> None:
    resident = Client()
    with django_capture_on_commit_callbacks(execute=False):
        conversation = hand_over(resident)
    notify_staff.call(conversation_id=str(conversation.pk), kind="handover")
    senders = {sender for sender, _to, _data in smtp_server.messages}
    assert senders == {f"<{email.utils.parseaddr(settings.DEFAULT_FROM_EMAIL)[1]}>"}


def test_with_the_mail_server_down_the_alerts_are_logged_and_sent_once_when_it_is_back(
    staff: dict[str, str],
    smtp_server: _SMTPServer,
    settings: Any,
    django_capture_on_commit_callbacks: Any,
) -> None:
    """Each alert is a notice of the messaging path: queued with its reason, then delivered."""
    from madoguchi.messaging.models import Notice, NoticeState
    from madoguchi.messaging.notices import notices_deliver_due

    settings.TASKS = IMMEDIATE
    settings.MESSAGING_RETRY_BASE_SECONDS = 0
    up_port = settings.EMAIL_PORT
    settings.EMAIL_PORT = closed_port()
    resident = Client()
    with django_capture_on_commit_callbacks(execute=True):
        conversation = hand_over(resident)
    notices = Notice.objects.order_by("pk")
    assert sorted(n.recipient for n in notices) == [
        staff["shimin-clerk"],
        staff["shimin-supervisor"],
    ]
    assert {(n.kind, n.state, n.attempts) for n in notices} == {
        ("consultation.handover", NoticeState.QUEUED, 1)
    }
    assert smtp_server.messages == []
    assert conversation.state == ConversationState.WAITING

    settings.EMAIL_PORT = up_port
    assert notices_deliver_due() == 2
    assert notices_deliver_due() == 0
    mails = received(smtp_server)
    assert sorted(to for to, _subject, _body in mails) == [
        [staff["shimin-clerk"]],
        [staff["shimin-supervisor"]],
    ]
    body = expected_body(conversation, HANDOVER_OPENING)
    assert all(text == body for _to, _subject, text in mails)
    assert {n.state for n in Notice.objects.all()} == {NoticeState.SENT}
