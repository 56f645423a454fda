"""The notification path: receipts, requests, hand-over alerts, reminders, opt-in mails.

Every message the product sends to one person by itself goes through :func:`notice_send`:

1. its text comes from the municipality's template for that kind (管理 → 通知の文面), or from
   the default wording, in Japanese or English, with ``{name}`` variables filled;
2. it becomes one :class:`~madoguchi.messaging.models.Notice` row, the delivery log (kind,
   channel, recipient, state, attempts, failure reason);
3. the first attempt is made at once; a mail server or LINE that does not answer puts the
   notice back with a backoff (``MADOGUCHI_MESSAGING_RETRY_BASE_SECONDS``, doubled each time)
   and a ``notice_deliver`` task retries it, until ``MADOGUCHI_MESSAGING_MAX_ATTEMPTS``.

Attempts are claimed with a lease, as the batches of a send are, so two workers never send the
same notice at once; an e-mail carries ``Message-ID: <notice-N@…>`` on every attempt and a LINE
push keeps its ``X-Line-Retry-Key``. Callers keep their own decision of who gets what and
when; the caller's transaction is never undone by a channel that is down.
"""

from __future__ import annotations

import datetime
import logging
import smtplib
import string
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Final

from django.conf import settings
from django.core.mail import EmailMessage, get_connection
from django.db import IntegrityError, transaction
from django.db.models import F, Q
from django.utils import timezone, translation
from django.utils.functional import Promise
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from madoguchi.audit.services import AuditActor, audit_event
from madoguchi.messaging.channels import LineSendError, line_senders
from madoguchi.messaging.errors import MessagingError, MessagingErrorCode
from madoguchi.messaging.models import Channel, Notice, NoticeState, NoticeTemplate
from madoguchi.tenants.models import Municipality

__all__ = [
    "NOTICE_KINDS",
    "NoticeKind",
    "NoticeResult",
    "notice_deliver",
    "notice_list",
    "notice_render",
    "notice_send",
    "notice_template_check",
    "notice_template_defaults",
    "notice_template_save",
    "notices_deliver_due",
    "notices_purge",
]

logger = logging.getLogger(__name__)


class NoticeKind(StrEnum):
    RECEIPT = "procedures.receipt"
    RESUME_LINK = "procedures.resume_link"
    STATE_CHANGE = "procedures.state_change"
    HANDOVER = "consultation.handover"
    HANDOVER_REMINDER = "consultation.reminder"
    REPORT_LINK = "surveillance.report_link"
    REPORT_REMINDER = "surveillance.line_reminder"
    SUBSCRIPTION_CONFIRM = "messaging.confirm"
    SUBSCRIPTION_MANAGE = "messaging.manage"
    BOOKING_RECEIPT = "reservations.booked"
    BOOKING_REMINDER = "reservations.reminder"
    BOOKING_REMINDER_LINE = "reservations.reminder_line"


def _p(**names: str) -> dict[str, str]:
    """Placeholders for gettext's %(name)s: the default wording keeps {name} variables."""
    return {key: "{" + value + "}" for key, value in names.items()}


def _receipt() -> tuple[str, str]:
    names = _p(place="municipality", procedure="procedure")
    subject = _("【%(place)s】%(procedure)sを受け付けました") % names
    body = (
        _("%(procedure)sを受け付けました。") % names
        + "\n\n"
        + _("受付番号：%(number)s") % _p(number="receipt_number")
        + "\n"
        + _("確認コード：%(code)s") % _p(code="code")
        + "\n\n"
        + _("申請の状況は、受付番号と確認コードで次のページから確認できます。")
        + "\n{status_url}\n\n"
        + _("確認コードは他の人に知らせないでください。")
        + "\n"
        + _("このメールに心当たりがない場合は、このメールを削除してください。")
        + "\n\n{municipality}\n"
    )
    return subject, body


def _resume_link() -> tuple[str, str]:
    names = _p(place="municipality", procedure="procedure")
    subject = _("【%(place)s】%(procedure)sの入力を再開するためのリンク") % names
    body = (
        _("%(procedure)sの入力内容を一時保存しました。") % names
        + "\n"
        + _("次のリンクから、続きを入力できます。")
        + "\n\n{link}\n\n"
        + _("有効期限：%(expiry)s") % _p(expiry="expiry")
        + "\n"
        + _(
            "このリンクを知っている人は入力内容を見ることができます。他の人に転送しないでください。"
        )
        + "\n\n{municipality}\n"
    )
    return subject, body


def _state_change() -> tuple[str, str]:
    names = _p(place="municipality", procedure="procedure", state="state", number="receipt_number")
    subject = _("【%(place)s】%(procedure)sの状況が「%(state)s」になりました") % names
    first = _("受付番号 %(number)s の%(procedure)sの状況が、") % names
    second = _("「%(state)s」になりました。") % names
    return subject, f"{first}\n{second}\n\n{{details}}\n{{status_url}}\n\n{{municipality}}\n"


def _staff_mail(opening: str) -> str:
    lines = [
        opening,
        "",
        _("自治体：%(municipality)s") % _p(municipality="municipality"),
        _("担当部署：%(department)s") % _p(department="department"),
        _("経路：%(channel)s") % _p(channel="channel"),
        _("引継ぎ日時：%(when)s") % _p(when="handed_over"),
        "",
        _("次のページで内容を確認して対応してください（職員のログインが必要です）。"),
        "{url}",
        "",
        _("このメールには、相談の内容や相談者の情報は含めていません。"),
        _("このメールは送信専用です。返信しないでください。"),
        "",
        _("%(municipality)s 相談アシスタント") % _p(municipality="municipality"),
        "",
    ]
    return "\n".join(lines)


def _handover() -> tuple[str, str]:
    subject = _("【%(municipality)s】担当者への相談が届きました") % _p(municipality="municipality")
    opening = _("相談アシスタントから、職員の対応を待つ相談が引き継がれました。")
    return subject, _staff_mail(opening)


def _handover_reminder() -> tuple[str, str]:
    subject = _("【%(municipality)s】対応待ちの相談に新しいメッセージがあります") % _p(
        municipality="municipality"
    )
    opening = _(
        "職員の対応を待っている相談に、住民から新しいメッセージが届きました。"
        "まだどの職員も開いていません。"
    )
    return subject, _staff_mail(opening)


def _report_link() -> tuple[str, str]:
    subject = _("【%(centre)s】毎日の体調報告のお願い") % _p(centre="centre")
    body = _(
        "療養期間中は、毎日1回、次のリンクから体調を報告してください。\n%(url)s\n\n"
        "このリンクは療養期間の終わりまで使えます。他の人に教えないでください。\n"
        "息苦しいなど急な変化があれば、報告を待たずに %(phone)s にお電話ください。"
    ) % _p(url="url", phone="phone")
    return subject, body


def _report_reminder() -> tuple[str, str]:
    body = (
        _("おはようございます。今日の体調の報告をお願いします。")
        + "{urgent_contact}\n"
        + _("今日の体調を報告する")
        + "：{url}"
    )
    return "", body


def _subscription_confirm() -> tuple[str, str]:
    names = _p(name="municipality", url="url")
    subject = _("【%(name)s】お知らせ配信の登録を確認してください") % names
    body = (
        _(
            "%(name)sのお知らせ配信にこのメールアドレスが登録されました。\n"
            "登録を完了するには、次のリンクを開いて「登録を完了する」を押してください。\n\n"
            "%(url)s\n\n"
            "心当たりがない場合は、このメールを破棄してください。登録は完了しません。"
        )
        % names
    )
    return subject, body


def _subscription_manage() -> tuple[str, str]:
    names = _p(name="municipality", url="url")
    subject = _("【%(name)s】お知らせ配信の登録内容") % names
    body = (
        _(
            "このメールアドレスは%(name)sのお知らせ配信に登録済みです。\n"
            "受け取る内容の確認・変更・停止は次のリンクからできます。\n\n%(url)s"
        )
        % names
    )
    return subject, body


def _booking_receipt() -> tuple[str, str]:
    subject = _("予約を受け付けました（受付番号 %(number)s）") % _p(number="receipt_number")
    body = (
        _(
            "%(name)s の予約を受け付けました。\n日時: %(when)s\n受付番号: %(number)s\n"
            "確認コード: %(secret)s\n変更・取消しはこちらから: %(url)s\n"
        )
        % _p(name="resource", when="when", number="receipt_number", secret="code", url="url")  # noqa: S106 - a placeholder
        + "\n{municipality}\n"
    )
    return subject, body


def _booking_reminder() -> tuple[str, str]:
    subject = _("明日のご予約のお知らせ（受付番号 %(number)s）") % _p(number="receipt_number")
    body = (
        _(
            "明日は %(name)s のご予約の日です。\n日時: %(when)s\n場所: %(place)s\n"
            "受付番号: %(number)s\n来られなくなった場合は取り消してください: %(url)s\n"
        )
        % _p(name="resource", when="when", place="place", number="receipt_number", url="url")
        + "\n{municipality}\n"
    )
    return subject, body


def _booking_reminder_line() -> tuple[str, str]:
    body = _(
        "明日は %(name)s のご予約の日です。\n日時: %(when)s\n場所: %(place)s\n"
        "受付番号: %(number)s\n来られなくなった場合は取り消してください。"
    ) % _p(name="resource", when="when", place="place", number="receipt_number")
    return "", body


@dataclass(frozen=True, slots=True)
class _KindSpec:
    label: Promise
    channel: Channel
    variables: tuple[str, ...]
    default: Callable[[], tuple[str, str]]


NOTICE_KINDS: Final[dict[NoticeKind, _KindSpec]] = {
    NoticeKind.RECEIPT: _KindSpec(
        gettext_lazy("申請の受付"),
        Channel.EMAIL,
        ("municipality", "procedure", "receipt_number", "code", "status_url"),
        _receipt,
    ),
    NoticeKind.RESUME_LINK: _KindSpec(
        gettext_lazy("入力再開のリンク"),
        Channel.EMAIL,
        ("municipality", "procedure", "link", "expiry"),
        _resume_link,
    ),
    NoticeKind.STATE_CHANGE: _KindSpec(
        gettext_lazy("申請の状況の変化・お願い"),
        Channel.EMAIL,
        ("municipality", "procedure", "receipt_number", "state", "details", "status_url"),
        _state_change,
    ),
    NoticeKind.HANDOVER: _KindSpec(
        gettext_lazy("相談の引継ぎ（職員あて）"),
        Channel.EMAIL,
        ("municipality", "department", "channel", "handed_over", "url"),
        _handover,
    ),
    NoticeKind.HANDOVER_REMINDER: _KindSpec(
        gettext_lazy("対応待ちの相談の再通知（職員あて）"),
        Channel.EMAIL,
        ("municipality", "department", "channel", "handed_over", "url"),
        _handover_reminder,
    ),
    NoticeKind.REPORT_LINK: _KindSpec(
        gettext_lazy("体調報告のリンク"),
        Channel.EMAIL,
        ("municipality", "centre", "url", "phone"),
        _report_link,
    ),
    NoticeKind.REPORT_REMINDER: _KindSpec(
        gettext_lazy("体調報告の朝のリマインダー（LINE）"),
        Channel.LINE,
        ("municipality", "urgent_contact", "url"),
        _report_reminder,
    ),
    NoticeKind.SUBSCRIPTION_CONFIRM: _KindSpec(
        gettext_lazy("お知らせ配信の登録確認"),
        Channel.EMAIL,
        ("municipality", "url"),
        _subscription_confirm,
    ),
    NoticeKind.SUBSCRIPTION_MANAGE: _KindSpec(
        gettext_lazy("お知らせ配信の登録内容"),
        Channel.EMAIL,
        ("municipality", "url"),
        _subscription_manage,
    ),
    NoticeKind.BOOKING_RECEIPT: _KindSpec(
        gettext_lazy("予約受付のお知らせ"),
        Channel.EMAIL,
        ("municipality", "resource", "when", "receipt_number", "code", "url"),
        _booking_receipt,
    ),
    NoticeKind.BOOKING_REMINDER: _KindSpec(
        gettext_lazy("予約の前日のお知らせ"),
        Channel.EMAIL,
        ("municipality", "resource", "when", "place", "receipt_number", "url"),
        _booking_reminder,
    ),
    NoticeKind.BOOKING_REMINDER_LINE: _KindSpec(
        gettext_lazy("予約の前日のお知らせ（LINE）"),
        Channel.LINE,
        ("municipality", "resource", "when", "place", "receipt_number"),
        _booking_reminder_line,
    ),
}


def notice_template_defaults(*, kind: NoticeKind, language: str) -> tuple[str, str]:
    """The default (subject, body) of ``kind`` in ``language``, with its {variables}."""
    with translation.override("en" if language == "en" else "ja"):
        return NOTICE_KINDS[kind].default()


def notice_template_check(*, kind: NoticeKind, text: str) -> None:
    """Raise MessagingError when ``text`` uses a variable ``kind`` lacks or a broken brace."""
    allowed = NOTICE_KINDS[kind].variables
    try:
        parts = list(string.Formatter().parse(text))
    except ValueError as exc:
        raise MessagingError(
            MessagingErrorCode.TEMPLATE_INVALID,
            _(
                "波かっこ { } の対応が正しくありません。"
                "文字として使うときは {{ と }} と書いてください。"
            ),
        ) from exc
    for _literal, name, spec, conversion in parts:
        if name is not None and (name not in allowed or spec or conversion):
            raise MessagingError(
                MessagingErrorCode.TEMPLATE_INVALID,
                _("使えない差し込み項目 {%(name)s} があります。使えるのは %(allowed)s です。")
                % {"name": name, "allowed": "、".join("{" + v + "}" for v in allowed)},
            )


def _fill(text: str, allowed: Sequence[str], values: Mapping[str, str]) -> str:
    return text.format_map({name: values.get(name, "") for name in allowed})


def notice_render(
    *, municipality: Municipality, kind: NoticeKind, language: str, values: Mapping[str, str]
) -> tuple[str, str]:
    """The (subject, body) of a notice: the municipality's template, else the default."""
    language = "en" if language == "en" else "ja"
    subject, body = notice_template_defaults(kind=kind, language=language)
    own = NoticeTemplate.objects.filter(municipality=municipality, kind=kind).first()
    if own is not None:
        own_subject = own.subject_en if language == "en" else own.subject_ja
        own_body = own.body_en if language == "en" else own.body_ja
        subject, body = own_subject or subject, own_body or body
    allowed = NOTICE_KINDS[kind].variables
    return _fill(subject, allowed, values), _fill(body, allowed, values)


@dataclass(frozen=True, slots=True)
class NoticeResult:
    """What became of a notice: ``sent`` now (or before); else ``error`` says why not yet."""

    notice: Notice | None
    sent: bool
    error: BaseException | None = None


class _RefusedError(Exception):
    """The channel refused this notice for good: it is not retried."""


def notice_send(
    *,
    municipality: Municipality,
    kind: NoticeKind,
    to: str,
    values: Mapping[str, str],
    language: str = "ja",
    dedupe_key: str | None = None,
    retry_key: str | None = None,
    actions: Sequence[tuple[str, str]] = (),
) -> NoticeResult:
    """Log a notice to ``to`` and make its first attempt; a failure is retried later.

    With ``dedupe_key`` the notice is made once: calling again delivers the one already
    logged if it still waits (and does nothing when it was sent).
    """
    channel = NOTICE_KINDS[kind].channel
    notice = None
    if dedupe_key is not None:
        notice = Notice.objects.filter(municipality=municipality, dedupe_key=dedupe_key).first()
    if notice is None:
        subject, body = notice_render(
            municipality=municipality, kind=kind, language=language, values=values
        )
        try:
            with transaction.atomic():
                notice = Notice.objects.create(
                    municipality=municipality,
                    kind=kind,
                    channel=channel,
                    language="en" if language == "en" else "ja",
                    recipient=to,
                    subject=subject,
                    body=body,
                    actions=[list(a) for a in actions] or None,
                    dedupe_key=dedupe_key,
                    retry_key=uuid.UUID(retry_key) if retry_key else uuid.uuid4(),
                    next_attempt_at=timezone.now(),
                )
        except IntegrityError:
            notice = Notice.objects.get(municipality=municipality, dedupe_key=dedupe_key)
    if notice.state == NoticeState.SENT:
        return NoticeResult(notice, True)
    if notice.state == NoticeState.FAILED:
        return NoticeResult(notice, False)
    result = notice_deliver(notice_id=notice.pk, now_or_never=True)
    held = result.notice
    if held is not None and held.state == NoticeState.SENDING and held.claimed_until:
        # Another attempt holds it (a worker killed mid-send, say): it may have been sent, so
        # it is not sent now; it is tried again when that attempt's lease runs out.
        _schedule_retry(held.pk, held.claimed_until)
    return result


def _due(now: datetime.datetime, *, ignore_backoff: bool) -> Q:
    waiting = Q(state=NoticeState.QUEUED)
    if not ignore_backoff:
        waiting &= Q(next_attempt_at__lte=now)
    return waiting | Q(state=NoticeState.SENDING, claimed_until__lt=now)


def _backoff(attempts: int) -> float:
    base = float(settings.MESSAGING_RETRY_BASE_SECONDS)
    return min(base * 2 ** max(0, attempts - 1), 3600.0)


def _send_email(notice: Notice) -> None:
    message = EmailMessage(
        notice.subject,
        notice.body,
        None,
        [notice.recipient],
        headers={"Message-ID": f"<notice-{notice.pk}@{settings.MESSAGING_MESSAGE_ID_DOMAIN}>"},
    )
    try:
        with get_connection(fail_silently=False) as connection:
            connection.send_messages([message])
    except smtplib.SMTPRecipientsRefused as exc:
        raise _RefusedError(f"refused: {list(exc.recipients.values())[:1]}") from exc


def _send_line(notice: Notice) -> None:
    from madoguchi.consultation.channels.line_api import line_messages
    from madoguchi.consultation.models import Outcome
    from madoguchi.consultation.replies import Action, Reply
    from madoguchi.consultation.selectors import line_channel_get

    channel = line_channel_get(municipality=notice.municipality)
    if channel is None or not channel.is_active:
        raise _RefusedError("line_not_configured")
    actions = tuple(Action(label, data) for label, data in (notice.actions or []))
    reply = Reply(notice.body, Outcome.ANSWERED, actions, (), stored=False)
    try:
        line_senders.for_token(channel.access_token).send(
            to=[notice.recipient], messages=line_messages(reply), retry_key=str(notice.retry_key)
        )
    except LineSendError as exc:
        if exc.already_accepted:
            return
        if not exc.retryable:
            raise _RefusedError(exc.detail) from exc
        raise


def _schedule_retry(notice_id: int, when: datetime.datetime) -> None:
    from madoguchi.messaging import tasks

    task = tasks.notice_deliver
    try:
        if task.get_backend().supports_defer:
            task.using(run_after=when).enqueue(notice_id=notice_id)
        else:  # a backend that runs tasks at once cannot wait: the next sweep takes it
            logger.info("notice %s waits for the next sweep", notice_id)
    except Exception:  # the queue itself failing must not fail the caller; the sweep takes it
        logger.exception("could not queue the retry of notice %s", notice_id)


def notice_deliver(*, notice_id: int, now_or_never: bool = False) -> NoticeResult:
    """Claim the notice and send it once; on a passing failure put it back with a backoff.

    ``now_or_never`` ignores the backoff (the caller's first attempt, or a later run of the
    same event); a notice another worker holds under a lease is never sent twice.
    """
    now = timezone.now()
    lease = now + datetime.timedelta(seconds=settings.MESSAGING_LEASE_SECONDS)
    won = Notice.objects.filter(_due(now, ignore_backoff=now_or_never), pk=notice_id).update(
        state=NoticeState.SENDING, claimed_until=lease, attempts=F("attempts") + 1
    )
    if not won:
        current = Notice.objects.filter(pk=notice_id).first()
        return NoticeResult(current, current is not None and current.state == NoticeState.SENT)
    notice = Notice.objects.select_related("municipality").get(pk=notice_id)
    try:
        if notice.channel == Channel.LINE:
            _send_line(notice)
        else:
            _send_email(notice)
    except _RefusedError as exc:
        Notice.objects.filter(pk=notice_id).update(
            state=NoticeState.FAILED, claimed_until=None, reason=str(exc)[:500]
        )
        notice.refresh_from_db()
        return NoticeResult(notice, False, exc)
    except (smtplib.SMTPException, OSError, LineSendError) as exc:
        detail = (exc.detail if isinstance(exc, LineSendError) else f"{type(exc).__name__}: {exc}")[
            :500
        ]
        if notice.attempts >= settings.MESSAGING_MAX_ATTEMPTS:
            Notice.objects.filter(pk=notice_id).update(
                state=NoticeState.FAILED, claimed_until=None, reason=detail
            )
        else:
            wait = exc.retry_after if isinstance(exc, LineSendError) else None
            when = timezone.now() + datetime.timedelta(
                seconds=wait if wait is not None else _backoff(notice.attempts)
            )
            Notice.objects.filter(pk=notice_id).update(
                state=NoticeState.QUEUED, claimed_until=None, reason=detail, next_attempt_at=when
            )
            _schedule_retry(notice_id, when)
        notice.refresh_from_db()
        return NoticeResult(notice, False, exc)
    Notice.objects.filter(pk=notice_id).update(
        state=NoticeState.SENT, claimed_until=None, sent_at=timezone.now(), reason=""
    )
    notice.refresh_from_db()
    return NoticeResult(notice, True)


def notices_deliver_due(*, limit: int = 1000) -> int:
    """Send the notices whose retry is due (or whose worker's lease ran out); returns sent."""
    now = timezone.now()
    ids = list(
        Notice.objects.filter(_due(now, ignore_backoff=False))
        .order_by("next_attempt_at", "pk")
        .values_list("pk", flat=True)[:limit]
    )
    return sum(1 for pk in ids if notice_deliver(notice_id=pk).sent)


@transaction.atomic
def notice_template_save(
    *,
    municipality: Municipality,
    kind: NoticeKind,
    subject_ja: str,
    body_ja: str,
    subject_en: str,
    body_en: str,
    actor: AuditActor,
) -> NoticeTemplate:
    """Store the municipality's wording of ``kind`` (an empty field keeps the default)."""
    for text in (subject_ja, body_ja, subject_en, body_en):
        notice_template_check(kind=kind, text=text)
    row, created = NoticeTemplate.objects.select_for_update().get_or_create(
        municipality=municipality, kind=kind
    )
    row.subject_ja, row.body_ja = subject_ja.strip(), body_ja.strip()
    row.subject_en, row.body_en = subject_en.strip(), body_en.strip()
    row.save()
    audit_event(
        municipality=municipality,
        action="messaging.notice_template_change",
        actor=actor,
        obj=row,
        data={
            "kind": str(kind),
            "created": created,
            "own": [
                name
                for name in ("subject_ja", "body_ja", "subject_en", "body_en")
                if getattr(row, name)
            ],
        },
    )
    return row


def notice_list(
    *, municipality: Municipality, kind: str = "", state: str = "", limit: int = 200
) -> list[Notice]:
    """The municipality's notices, newest first (the notification log)."""
    rows = Notice.objects.filter(municipality=municipality)
    if kind:
        rows = rows.filter(kind=kind)
    if state:
        rows = rows.filter(state=state)
    return list(rows.order_by("-created_at", "-pk")[:limit])


def notices_purge(*, older_than: datetime.timedelta, actor: AuditActor) -> int:
    """Delete sent and failed notices created before ``older_than`` ago; returns how many.

    Waiting notices are kept whatever their age. Each municipality's purge is audited.
    """
    cutoff = timezone.now() - older_than
    done = Q(state__in=[NoticeState.SENT, NoticeState.FAILED], created_at__lt=cutoff)
    total = 0
    ids = Notice.objects.filter(done).values_list("municipality_id", flat=True).distinct()
    for municipality in Municipality.objects.filter(pk__in=list(ids)).order_by("pk"):
        with transaction.atomic():
            count, _by_model = Notice.objects.filter(done, municipality=municipality).delete()
            audit_event(
                municipality=municipality,
                action="messaging.notice_purge",
                actor=actor,
                object_type="messaging.notice",
                object_id="",
                data={"deleted": count, "before": cutoff.isoformat()},
            )
        total += count
    return total
