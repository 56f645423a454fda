"""The notification path: receipts, alerts, reminders and opt-in mails as logged, retried notices.

Over the real loopback SMTP server and the local Messaging API: a channel that is down keeps the
notice queued and a worker delivers it once when the channel is back; templates per
municipality in both languages; the staff log page and the template editor with isolation;
the subscribe form's rate limit; subscribers' addresses stored encrypted.
"""

from __future__ import annotations

import datetime
from io import StringIO
from typing import Any

import pytest
from django.core.management import CommandError, call_command
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.test import Client
from django.utils import timezone
from django_tasks.base import TaskResultStatus
from django_tasks_db.models import DBTaskResult

from madoguchi.audit.models import AuditEntry
from madoguchi.messaging.models import Channel, Notice, NoticeState, NoticeTemplate, Subscriber
from madoguchi.messaging.models.subscriptions import address_digest
from madoguchi.messaging.notices import NoticeKind, notice_send, notices_deliver_due
from madoguchi.procedures import notify
from madoguchi.procedures.receipts import lookup_secret_display, receipt_number_display
from tests.accounts.invitemail import mails
from tests.isolation import Tenant, assert_cannot_change, assert_cannot_read, snapshot
from tests.messaging.conftest import MessagingApi, run_worker
from tests.procedures.test_submit import _SMTPServer, closed_port

EMAIL = "taro@example.jp"
STATUS_URL = "https://madoguchi.example.jp/kobe/status/"


def _receipt(tenant: Tenant, language: str = "ja") -> bool:
    return notify.send_receipt(
        municipality=tenant.municipality,
        email=EMAIL,
        procedure_name="特別定額給付金",
        receipt_number="R2K7M9P3Q8",
        secret="ABCD2345",
        status_url=STATUS_URL,
        language=language,
    )


@pytest.mark.django_db(transaction=True)
def test_a_receipt_with_the_mail_server_down_is_logged_and_delivered_once_when_it_is_back(
    city: Tenant, smtp_server: _SMTPServer, no_backoff: None, settings: Any, signal_handlers: None
) -> None:
    up_port = settings.EMAIL_PORT
    settings.EMAIL_PORT = closed_port()
    assert _receipt(city) is False

    [notice] = Notice.objects.all()
    assert (notice.kind, notice.channel, notice.recipient) == ("procedures.receipt", "email", EMAIL)
    assert (notice.state, notice.attempts) == (NoticeState.QUEUED, 1)
    assert "ConnectionRefusedError" in notice.reason
    [task] = DBTaskResult.objects.filter(task_path="madoguchi.messaging.tasks.notice_deliver")
    assert task.args_kwargs == {"args": [], "kwargs": {"notice_id": notice.pk}}
    assert smtp_server.messages == []

    settings.EMAIL_PORT = up_port
    run_worker()
    [(to, subject, body)] = mails(smtp_server)
    assert to == [EMAIL]
    assert subject == "【神戸市】特別定額給付金を受け付けました"
    assert f"確認コード：{lookup_secret_display('ABCD2345')}" in body
    notice.refresh_from_db()
    assert (notice.state, notice.attempts, notice.reason) == (NoticeState.SENT, 2, "")
    # Nothing left to do: a sweep or another worker sends no second copy.
    assert notices_deliver_due() == 0
    run_worker()
    assert len(smtp_server.messages) == 1
    message_ids = {
        data.split(b"Message-ID: ")[1].split(b"\r\n")[0] for _s, _r, data in smtp_server.messages
    }
    assert message_ids == {f"<notice-{notice.pk}@madoguchi.invalid>".encode()}


def test_out_of_attempts_the_notice_fails_with_its_reason(
    city: Tenant, settings: Any, no_backoff: None
) -> None:
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_TIMEOUT = "127.0.0.1", closed_port(), 2
    settings.MESSAGING_MAX_ATTEMPTS = 2
    assert _receipt(city) is False
    assert notices_deliver_due() == 0
    notice = Notice.objects.get()
    assert (notice.state, notice.attempts) == (NoticeState.FAILED, 2)
    assert "ConnectionRefusedError" in notice.reason
    assert notices_deliver_due() == 0
    assert Notice.objects.get().attempts == 2


def test_the_municipality_s_own_wording_is_used_in_japanese_and_the_default_in_english(
    city: Tenant, smtp_server: _SMTPServer
) -> None:
    NoticeTemplate.objects.create(
        municipality=city.municipality,
        kind=NoticeKind.RECEIPT,
        subject_ja="{municipality}：{procedure}の受付",
        body_ja="受付番号 {receipt_number}\n確認コード {code}\n{status_url}",
    )
    assert _receipt(city, "ja") is True
    assert _receipt(city, "en") is True
    [(_to, ja_subject, ja_body), (_to2, en_subject, en_body)] = mails(smtp_server)
    assert ja_subject == "神戸市：特別定額給付金の受付"
    assert ja_body.startswith("受付番号 R2K7")
    assert STATUS_URL in ja_body
    assert en_subject == "[神戸市] Received: 特別定額給付金"  # the default, in English
    assert STATUS_URL in en_body
    # Another municipality's template is never used for this one.
    assert NoticeTemplate.objects.filter(municipality=city.municipality).count() == 1


@pytest.mark.django_db(transaction=True)
def test_a_line_notice_answered_500_is_retried_with_the_same_key_and_delivered_once(
    city: Tenant, line_api: MessagingApi, no_backoff: None, signal_handlers: None
) -> None:
    line_api.script = [(500, {})]
    result = notice_send(
        municipality=city.municipality,
        kind=NoticeKind.REPORT_REMINDER,
        to="U" + "a" * 32,
        values={"urgent_contact": "", "url": "https://madoguchi.example.jp/r/x/"},
        actions=(("体調報告", "health:report"),),
    )
    assert result.sent is False
    assert result.notice is not None
    assert result.notice.state == NoticeState.QUEUED
    run_worker()
    assert [c.status for c in line_api.calls] == [500, 200]
    assert len({c.retry_key for c in line_api.calls}) == 1
    assert line_api.delivered() == ["U" + "a" * 32]
    assert line_api.calls[1].text.startswith("おはようございます。")
    assert Notice.objects.get().state == NoticeState.SENT
    run_worker()
    assert len(line_api.calls) == 2


@pytest.mark.django_db(transaction=True)
def test_a_confirmation_mail_that_failed_is_retried_and_arrives_once(
    city: Tenant, smtp_server: _SMTPServer, settings: Any, signal_handlers: None
) -> None:
    up_port = settings.EMAIL_PORT
    settings.EMAIL_PORT = closed_port()
    client = Client()
    data = {"email": EMAIL, "topics": ["kosodate"], "area": "", "language": "ja"}
    assert client.post("/kobe/messages/", data)["Location"] == "/kobe/messages/sent/"
    run_worker()  # the subscription mail task: the server is down
    notice = Notice.objects.get(kind="messaging.confirm")
    assert notice.state == NoticeState.QUEUED
    assert smtp_server.messages == []

    assert notice.attempts == 1  # the retry waits for its backoff
    settings.EMAIL_PORT = up_port
    past = timezone.now() - datetime.timedelta(seconds=1)
    Notice.objects.update(next_attempt_at=past)  # the backoff has run out
    DBTaskResult.objects.filter(status=TaskResultStatus.READY).update(run_after=past)
    run_worker()
    [(to, subject, body)] = mails(smtp_server)
    assert to == [EMAIL]
    assert subject == "【神戸市】お知らせ配信の登録を確認してください"
    token = Subscriber.objects.get(address_digest=address_digest(EMAIL)).token
    assert f"/kobe/messages/confirm/{token}/" in body
    run_worker()
    assert len(smtp_server.messages) == 1


# ------------------------------------------------------------------------------- staff pages


def test_municipality_wide_staff_see_the_notice_log_and_the_read_is_audited(
    city: Tenant, tenant_b: Tenant, smtp_server: _SMTPServer
) -> None:
    assert _receipt(city) is True
    page = city.client("admin").get("/kobe/messages/staff/notices/")
    assert page.status_code == 200
    text = page.content.decode()
    assert EMAIL in text
    assert "申請の受付" in text
    assert "送信済み" in text
    assert "ABCD" not in text  # the text (with the lookup code) is not shown
    entry = AuditEntry.objects.get(action="view", purpose="messaging.notice_log")
    assert entry.municipality_id == city.municipality.pk
    # Filters: a kind with no notice shows none; a made-up state is refused with a message.
    other = city.client("admin").get("/kobe/messages/staff/notices/?kind=consultation.handover")
    assert EMAIL not in other.content.decode()
    bad = city.client("admin").get("/kobe/messages/staff/notices/?state=%3Cx%3E")
    assert bad.status_code == 400
    assert "入力内容を確認してください" in bad.content.decode()
    # A clerk, and every member of another municipality, are refused.
    # A clerk, a department's supervisor (the log spans every department) and every member
    # of another municipality are refused.
    for role in ("clerk", "supervisor"):
        assert_cannot_read(
            city.client(role), "/kobe/messages/staff/notices/", must_not_contain=[EMAIL]
        )
    assert_cannot_read(
        tenant_b.client("admin"), "/kobe/messages/staff/notices/", must_not_contain=[EMAIL]
    )
    # 佐用町's own log does not list 神戸市's notices.
    setup_b = tenant_b.client("admin").get("/sayo/messages/staff/notices/")
    assert setup_b.status_code == 200
    assert EMAIL not in setup_b.content.decode()


def test_an_admin_changes_the_wording_and_bad_variables_are_refused(
    city: Tenant, tenant_b: Tenant, smtp_server: _SMTPServer
) -> None:
    url = "/kobe/messages/staff/notices/templates/procedures.receipt/"
    admin = city.client("admin")
    page = admin.get(url)
    assert page.status_code == 200
    assert "{receipt_number}" in page.content.decode()  # the default, with its variables
    assert admin.get("/kobe/messages/staff/notices/templates/nope/").status_code == 404

    bad = admin.post(
        url, {"subject_ja": "{name}様", "body_ja": "x", "subject_en": "", "body_en": ""}
    )
    assert bad.status_code == 400
    assert "使えない差し込み項目 {name} があります。" in bad.content.decode()
    broken = admin.post(
        url, {"subject_ja": "受付 {", "body_ja": "", "subject_en": "", "body_en": ""}
    )
    assert broken.status_code == 400
    assert "波かっこ" in broken.content.decode()
    assert not NoticeTemplate.objects.exists()

    form = {
        "subject_ja": "【{municipality}】受付しました",
        "body_ja": "番号 {receipt_number}",
        "subject_en": "",
        "body_en": "",
    }
    assert admin.post(url, form).status_code == 302
    row = NoticeTemplate.objects.get()
    assert (row.subject_ja, row.body_ja, row.subject_en) == (
        "【{municipality}】受付しました",
        "番号 {receipt_number}",
        "",
    )
    assert AuditEntry.objects.filter(action="messaging.notice_template_change").count() == 1
    assert _receipt(city) is True
    [(_to, subject, body)] = mails(smtp_server)
    assert subject == "【神戸市】受付しました"
    assert body == f"番号 {receipt_number_display('R2K7M9P3Q8')}\n"

    state = lambda: snapshot(NoticeTemplate.objects.all())  # noqa: E731
    assert_cannot_change(city.client("clerk"), url, data=form | {"body_ja": "x"}, state=state)
    assert_cannot_change(tenant_b.client("admin"), url, data=form | {"body_ja": "x"}, state=state)


def test_the_subscribe_form_is_limited_per_client_address(city: Tenant, settings: Any) -> None:
    settings.MESSAGING_SUBSCRIBE_RATE_PER_CLIENT = 2
    client = Client(REMOTE_ADDR="203.0.113.7")
    for n in range(2):
        data = {"email": f"r{n}@example.jp", "topics": ["kosodate"], "area": "", "language": "ja"}
        assert client.post("/kobe/messages/", data).status_code == 302
    before = snapshot(Subscriber.objects.all())
    data = {"email": "third@example.jp", "topics": ["kosodate"], "area": "", "language": "ja"}
    refused = client.post("/kobe/messages/", data)
    assert refused.status_code == 429
    assert int(refused["Retry-After"]) > 0
    text = refused.content.decode()
    assert "短い時間に登録の操作が続いたため、受け付けを一時的に止めています。" in text
    assert 'value="third@example.jp"' in text  # what was entered is kept
    assert snapshot(Subscriber.objects.all()) == before
    # Another client address is not held back.
    other = Client(REMOTE_ADDR="203.0.113.8")
    assert other.post("/kobe/messages/", data).status_code == 302


# ------------------------------------------------------------------------------- encryption


def test_addresses_are_stored_encrypted_and_found_by_their_digest_in_any_case(
    city: Tenant, smtp_server: _SMTPServer
) -> None:
    client = Client()
    data = {"email": "Hanako.Y@Example.jp", "topics": ["kosodate"], "area": "", "language": "ja"}
    assert client.post("/kobe/messages/", data).status_code == 302
    row = Subscriber.objects.get()
    assert row.address == "Hanako.Y@Example.jp"
    with connection.cursor() as cursor:
        cursor.execute("SELECT address, address_digest FROM messaging_subscriber")
        [(stored, digest)] = cursor.fetchall()
    assert "hanako" not in stored.lower()
    assert "example" not in stored.lower()
    assert digest == address_digest("hanako.y@example.jp")
    # The same address in other case is the same subscriber, not a second row.
    assert (
        client.post("/kobe/messages/", data | {"email": "hanako.y@example.jp"}).status_code == 302
    )
    assert Subscriber.objects.count() == 1
    # Notices (the delivery log of the notification path) are stored encrypted too.
    notice_send(
        municipality=city.municipality,
        kind=NoticeKind.SUBSCRIPTION_MANAGE,
        to=row.address,
        values={"url": "https://madoguchi.example.jp/kobe/messages/my/x/"},
    )
    with connection.cursor() as cursor:
        cursor.execute("SELECT recipient, body FROM messaging_notice")
        rows = cursor.fetchall()
    assert rows
    assert all("hanako" not in (r + b).lower() for r, b in rows)


@pytest.mark.django_db(transaction=True)
def test_the_migration_encrypts_existing_addresses(tenant_a: Tenant) -> None:
    executor = MigrationExecutor(connection)
    before = [("messaging", "0002_notices")]
    executor.migrate(before)
    old = executor.loader.project_state(before).apps.get_model("messaging", "Subscriber")
    old.objects.create(
        municipality_id=tenant_a.municipality.pk,
        channel=Channel.EMAIL,
        address="Old.Resident@example.jp",
        token="t-old-1",
        confirmed_at=timezone.now() - datetime.timedelta(days=30),
    )
    old.objects.create(
        municipality_id=tenant_a.municipality.pk,
        channel=Channel.LINE,
        address="U" + "b" * 32,
        token="t-old-2",
    )
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate([("messaging", "0003_encrypted_subscriber_addresses")])

    email_row = Subscriber.objects.get(address_digest=address_digest("old.resident@example.jp"))
    assert (email_row.address, email_row.token) == ("Old.Resident@example.jp", "t-old-1")
    line_row = Subscriber.objects.get(channel=Channel.LINE)
    assert line_row.address == "U" + "b" * 32
    with connection.cursor() as cursor:
        cursor.execute("SELECT address FROM messaging_subscriber")
        stored = [r[0] for r in cursor.fetchall()]
    assert all("resident" not in s.lower() and "bbbb" not in s for s in stored)


def test_the_purge_deletes_only_old_finished_notices_and_is_audited(
    city: Tenant, tenant_b: Tenant, smtp_server: _SMTPServer, settings: Any
) -> None:
    assert _receipt(city) is True
    assert _receipt(tenant_b) is True
    settings.EMAIL_PORT = closed_port()
    assert _receipt(city) is False  # waiting for its retry: kept however old
    old = timezone.now() - datetime.timedelta(days=100)
    Notice.objects.update(created_at=old)
    assert _receipt(city) is False  # recent: kept
    out = StringIO()
    call_command("messaging_notices", "purge", "--days", "90", stdout=out)
    assert out.getvalue().strip() == "2 notices deleted"
    assert sorted(n.state for n in Notice.objects.all()) == [NoticeState.QUEUED] * 2
    entries = AuditEntry.objects.filter(action="messaging.notice_purge")
    assert sorted((e.municipality_id, e.data["deleted"]) for e in entries) == sorted(
        [(city.municipality.pk, 1), (tenant_b.municipality.pk, 1)]
    )
    with pytest.raises(CommandError):
        call_command("messaging_notices", "purge", "--days", "0")
    assert Notice.objects.count() == 2
