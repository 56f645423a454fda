"""Making and sending the deliveries of a send: quiet hours, batches, claims, retries.

A send is dispatched once (under a row lock): outside quiet hours, or at once when urgent, its
segment becomes delivery rows grouped into batches. Workers claim one batch at a time with a
lease (an UPDATE that only one of them can win), send it, and mark its rows. A batch that fails
in a way worth retrying goes back to the queue with a backoff; a batch whose worker died is
taken over when its lease has run out, its rows already marked sent are skipped, and a LINE
batch keeps its X-Line-Retry-Key, so LINE accepts it once. Batches of one channel never wait
for the other's.
"""

from __future__ import annotations

import datetime
import logging
import re
import smtplib
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from email.utils import formatdate
from itertools import islice
from typing import Any, Final

from django.conf import settings
from django.core.mail import EmailMessage, get_connection
from django.core.mail.backends.smtp import EmailBackend as SmtpBackend
from django.core.mail.message import sanitize_address
from django.db import connection as db
from django.db import transaction
from django.db.models import F, Field, Min, Q
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from madoguchi.audit.services import AuditActor, audit_event
from madoguchi.consultation.selectors import line_channel_get
from madoguchi.messaging import selectors, tasks
from madoguchi.messaging.channels import LINE_MULTICAST_LIMIT, LineSendError, line_senders
from madoguchi.messaging.models import (
    Area,
    BatchState,
    Channel,
    Delivery,
    DeliveryBatch,
    DeliveryState,
    MessagingSettings,
    Send,
    SendState,
    Subscriber,
)
from madoguchi.messaging.templating import template_text_fill

__all__ = [
    "UNSUBSCRIBE_POSTBACK",
    "batch_claim",
    "batch_deliver",
    "quiet_hours_release",
    "send_dispatch",
    "send_drain",
]

logger = logging.getLogger(__name__)

UNSUBSCRIBE_POSTBACK: Final = "messaging:unsubscribe"
_ROWS_PER_INSERT: Final = 10_000
# The columns of a new delivery row, in the order of the tuples _deliveries_insert writes.
_INSERTED: Final = (
    "municipality",
    "send",
    "batch",
    "subscriber",
    "channel",
    "state",
    "attempts",
    "reason",
)
_SYSTEM = AuditActor(label="messaging")


def quiet_hours_release(
    *, settings_row: MessagingSettings, now: datetime.datetime
) -> datetime.datetime | None:
    """When quiet hours end, if ``now`` falls inside them (local time); else None."""
    start, end = settings_row.quiet_start, settings_row.quiet_end
    if start == end:
        return None
    local = timezone.localtime(now)
    t = local.time()
    if start < end:
        inside, next_day = start <= t < end, False
    else:  # over midnight, e.g. 21:00–8:00
        inside, next_day = (t >= start or t < end), t >= start
    if not inside:
        return None
    day = local.date() + datetime.timedelta(days=1 if next_day else 0)
    return timezone.make_aware(datetime.datetime.combine(day, end), local.tzinfo)


def _chunks(items: list[int], size: int) -> Iterator[list[int]]:
    iterator = iter(items)
    while chunk := list(islice(iterator, size)):
        yield chunk


def _enqueue_drain(send_id: int, run_after: datetime.datetime | None = None) -> None:
    task = (
        tasks.send_deliver if run_after is None else tasks.send_deliver.using(run_after=run_after)
    )
    task.enqueue(send_id=send_id)


def send_dispatch(*, send_id: int, now: datetime.datetime | None = None) -> str:
    """Turn a due send into batches of deliveries, or hold it until quiet hours end."""
    now = now or timezone.now()
    with transaction.atomic():
        send = (
            Send.objects.select_for_update()
            .select_related("municipality", "template__topic")
            .filter(pk=send_id)
            .first()
        )
        if send is None or send.state not in {SendState.SCHEDULED, SendState.HELD}:
            return "skipped"
        if send.scheduled_at is not None and send.scheduled_at > now:
            at = send.scheduled_at
            transaction.on_commit(
                lambda: tasks.send_dispatch.using(run_after=at).enqueue(send_id=send_id)
            )
            return "scheduled"
        municipality = send.municipality
        if not send.urgent:
            release = quiet_hours_release(
                settings_row=selectors.messaging_settings_get(municipality=municipality), now=now
            )
            if release is not None:
                send.state = SendState.HELD
                send.save(update_fields=["state"])
                audit_event(
                    municipality=municipality,
                    action="messaging.send_hold",
                    actor=_SYSTEM,
                    obj=send,
                    data={"until": release.isoformat()},
                )
                transaction.on_commit(
                    lambda: tasks.send_dispatch.using(run_after=release).enqueue(send_id=send_id)
                )
                return "held"
        groups: dict[tuple[str, str, int | None], list[int]] = defaultdict(list)
        recipients = selectors.segment_subscribers(
            municipality=municipality,
            topic_ids=send.topics.values_list("pk", flat=True),
            area_ids=send.areas.values_list("pk", flat=True),
            languages=send.language_list,
        ).values_list("pk", "channel", "language", "area_id")
        for pk, channel, language, area_id in recipients.iterator(chunk_size=5000):
            groups[(channel, language, area_id)].append(pk)
        sizes = {Channel.LINE: LINE_MULTICAST_LIMIT, Channel.EMAIL: settings.MESSAGING_EMAIL_BATCH}
        planned: list[tuple[DeliveryBatch, list[int]]] = []
        for (group_channel, group_language, group_area), pks in groups.items():
            for chunk in _chunks(pks, sizes[Channel(group_channel)]):
                batch = DeliveryBatch(
                    municipality=municipality,
                    send=send,
                    channel=group_channel,
                    language=group_language,
                    area_id=group_area,
                    next_attempt_at=now,
                )
                planned.append((batch, chunk))
        DeliveryBatch.objects.bulk_create([batch for batch, _pks in planned])
        total = _deliveries_insert(send, planned)
        send.state = SendState.SENDING if planned else SendState.DONE
        send.started_at = now
        send.finished_at = None if planned else now
        send.recipient_count = total
        send.save(update_fields=["state", "started_at", "finished_at", "recipient_count"])
        audit_event(
            municipality=municipality,
            action="messaging.send_start",
            actor=_SYSTEM,
            obj=send,
            data={"deliveries": total, "batches": len(planned), "urgent": send.urgent},
        )
        workers = min(len(planned), settings.MESSAGING_TASKS_PER_SEND)

        def enqueue() -> None:
            for _n in range(workers):
                _enqueue_drain(send_id)

        transaction.on_commit(enqueue)
    return "started"


def _column(name: str) -> str:
    """The quoted column of a Delivery field, for the statements written by hand below."""
    field = Delivery._meta.get_field(name)
    if not isinstance(field, Field):
        raise TypeError(name)
    return db.ops.quote_name(field.column)


def _deliveries_insert(send: Send, planned: list[tuple[DeliveryBatch, list[int]]]) -> int:
    """Write the delivery rows of the planned batches; returns how many.

    Plain INSERTs through ``executemany`` (SQLite) or one ``INSERT … SELECT … FROM unnest``
    per chunk (PostgreSQL) rather than ``bulk_create``: a model instance per row cost more CPU
    than everything else in a send to 100,000 recipients. The columns are those of a new
    ``Delivery`` (queued, no attempt yet); a test compares the rows with the model's.
    """
    columns = ", ".join(_column(name) for name in _INSERTED)
    placeholders = ", ".join(["%s"] * len(_INSERTED))
    table = db.ops.quote_name(Delivery._meta.db_table)
    sql = f"INSERT INTO {table} ({columns}) VALUES ({placeholders})"  # noqa: S608 - names from the model, values as parameters
    municipality_id, send_id, queued = send.municipality_id, send.pk, str(DeliveryState.QUEUED)
    postgresql = db.vendor == "postgresql"
    if postgresql:
        # One statement per chunk: the ids travel as arrays and the server unpacks them.
        sql = (
            f"INSERT INTO {table} ({columns}) "  # noqa: S608 - names from the model, values as parameters
            "SELECT %s, %s, u.batch, u.subscriber, u.channel, %s, 0, '' "
            "FROM unnest(%s::bigint[], %s::bigint[], %s::text[]) AS u(batch, subscriber, channel)"
        )
    pairs = ((batch, pk) for batch, pks in planned for pk in pks)
    total = 0
    with db.cursor() as cursor:
        while chunk := list(islice(pairs, _ROWS_PER_INSERT)):
            if postgresql:
                batches = [batch.pk for batch, _pk in chunk]
                channels = [str(batch.channel) for batch, _pk in chunk]
                subscribers = [pk for _batch, pk in chunk]
                cursor.execute(
                    sql, [municipality_id, send_id, queued, batches, subscribers, channels]
                )
            else:
                cursor.executemany(
                    sql,
                    [
                        (municipality_id, send_id, batch.pk, pk, str(batch.channel), queued, 0, "")
                        for batch, pk in chunk
                    ],
                )
            total += len(chunk)
    return total


def _due(now: datetime.datetime) -> Q:
    return Q(state=BatchState.QUEUED, next_attempt_at__lte=now) | Q(
        state=BatchState.SENDING, claimed_until__lt=now
    )


def batch_claim(*, send_id: int | None = None) -> DeliveryBatch | None:
    """Take the next due batch (or one whose worker's lease ran out); None when none is due."""
    for _attempt in range(5):
        now = timezone.now()
        with transaction.atomic():
            candidates = DeliveryBatch.objects.filter(_due(now))
            if send_id is not None:
                candidates = candidates.filter(send_id=send_id)
            pk = (
                candidates.order_by("next_attempt_at", "pk")
                .select_for_update(skip_locked=True)
                .values_list("pk", flat=True)
                .first()
            )
            if pk is None:
                return None
            lease = now + datetime.timedelta(seconds=settings.MESSAGING_LEASE_SECONDS)
            won = DeliveryBatch.objects.filter(_due(now), pk=pk).update(
                state=BatchState.SENDING, claimed_until=lease, attempts=F("attempts") + 1
            )
        if won:
            return DeliveryBatch.objects.select_related("send__template", "municipality").get(pk=pk)
    return None


def _backoff(attempts: int) -> float:
    base = float(settings.MESSAGING_RETRY_BASE_SECONDS)
    return min(base * 2 ** max(0, attempts - 1), 3600.0)


def _requeue_or_fail(batch: DeliveryBatch, detail: str, wait: float | None) -> None:
    """Retry the batch's unsent rows later, or fail them when out of attempts."""
    pending = Delivery.objects.filter(batch=batch, state=DeliveryState.QUEUED)
    if batch.attempts >= settings.MESSAGING_MAX_ATTEMPTS:
        pending.update(state=DeliveryState.FAILED, reason=detail[:500], attempts=F("attempts") + 1)
        _batch_done(batch, detail)
        return
    pending.update(reason=detail[:500], attempts=F("attempts") + 1)
    delay = wait if wait is not None else _backoff(batch.attempts)
    DeliveryBatch.objects.filter(pk=batch.pk).update(
        state=BatchState.QUEUED,
        claimed_until=None,
        last_error=detail[:500],
        next_attempt_at=timezone.now() + datetime.timedelta(seconds=delay),
    )


def _batch_done(batch: DeliveryBatch, detail: str = "") -> None:
    DeliveryBatch.objects.filter(pk=batch.pk).update(
        state=BatchState.DONE, claimed_until=None, last_error=detail[:500]
    )
    unfinished = Q(batches__state__in=[BatchState.QUEUED, BatchState.SENDING])
    if not Send.objects.filter(unfinished, pk=batch.send_id).exists():
        Send.objects.filter(pk=batch.send_id, state=SendState.SENDING).update(
            state=SendState.DONE, finished_at=timezone.now()
        )


@dataclass(frozen=True, slots=True)
class _Content:
    subject: str
    body: str


def _content(batch: DeliveryBatch) -> _Content:
    template, municipality = batch.send.template, batch.municipality
    language = batch.language if batch.language == "en" and template.body_en else "ja"
    area = Area.objects.filter(pk=batch.area_id).first() if batch.area_id else None
    values = {
        "municipality": municipality.name,
        "topic": template.topic.label(language),
        "area": area.label(language) if area else "",
    }
    subject = template.subject_en if language == "en" else template.subject_ja
    body = template.body_en if language == "en" else template.body_ja
    return _Content(template_text_fill(subject, values), template_text_fill(body, values))


def _site_url(name: str, slug: str, token: str) -> str:
    path = reverse(f"messaging:{name}", kwargs={"municipality_slug": slug, "token": token})
    return settings.MADOGUCHI_SITE_URL + path


def _line_messages(content: _Content, language: str) -> list[Any]:
    from linebot.v3.messaging import PostbackAction, QuickReply, QuickReplyItem, TextMessage

    with translation.override(language):
        label = _("配信停止")
        note = _("配信を止めるときは「配信停止」を押してください。")
    text = f"{content.subject}\n\n{content.body}\n\n{note}"
    stop = QuickReplyItem(
        action=PostbackAction(label=label, data=UNSUBSCRIBE_POSTBACK, displayText=label)
    )
    return [TextMessage(text=text[:5000], quickReply=QuickReply(items=[stop]))]


def _deliver_line(batch: DeliveryBatch) -> None:
    pending = Delivery.objects.filter(batch=batch, state=DeliveryState.QUEUED)
    # User ids only: model instances for 500 rows cost more CPU than the multicast itself.
    to = list(pending.values_list("subscriber__address", flat=True))
    if not to:
        _batch_done(batch)
        return
    channel = line_channel_get(municipality=batch.municipality)
    if channel is None or not channel.is_active:
        pending.update(
            state=DeliveryState.FAILED, reason="line_not_configured", attempts=F("attempts") + 1
        )
        _batch_done(batch, "line_not_configured")
        return
    sender = line_senders.for_token(channel.access_token)
    messages = _line_messages(_content(batch), batch.language)
    try:
        sender.send(to=to, messages=messages, retry_key=str(batch.retry_key))
    except LineSendError as exc:
        if not exc.already_accepted:
            if exc.retryable:
                _requeue_or_fail(batch, exc.detail, exc.retry_after)
            else:
                pending.update(
                    state=DeliveryState.FAILED, reason=exc.detail, attempts=F("attempts") + 1
                )
                _batch_done(batch, exc.detail)
            return
    pending.update(state=DeliveryState.SENT, sent_at=timezone.now(), attempts=F("attempts") + 1)
    _batch_done(batch)


def _email(batch: DeliveryBatch, row: Delivery, content: _Content, connection: Any) -> EmailMessage:
    slug, token = batch.municipality.slug, row.subscriber.token
    unsubscribe = _site_url("unsubscribe", slug, token)
    manage = _site_url("manage", slug, token)
    with translation.override(batch.language):
        footer = _("配信の変更：%(manage)s\n配信の停止：%(unsubscribe)s") % {
            "manage": manage,
            "unsubscribe": unsubscribe,
        }
    return EmailMessage(
        subject=content.subject,
        body=f"{content.body}\n\n--\n{batch.municipality.name}\n{footer}\n",
        to=[row.subscriber.address],
        connection=connection,
        headers={
            "List-Unsubscribe": f"<{unsubscribe}>",
            "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
            # The same id on every attempt: a copy sent twice is recognisable as one message.
            "Message-ID": f"<delivery-{row.pk}@{settings.MESSAGING_MESSAGE_ID_DOMAIN}>",
        },
    )


class _Copies:
    """A batch's e-mails as copies of one rendering, each made by substitution in the bytes.

    The recipients' messages differ only in the address (To), the token (in the links and in
    List-Unsubscribe) and the Message-ID. Building the MIME message and sanitising its
    addresses per recipient was most of a worker's CPU per e-mail; replacing three markers in
    the bytes takes microseconds. Header folding and the body's transfer encoding depend on the
    lengths of those values, so one rendering is kept per token and id length (tokens all have
    one length), with marker values of exactly those lengths; addresses are limited to a length
    that never folds. Each rendering is checked once: a second one by Django, with other values
    of the same lengths and the longest address, must equal its substituted copy byte for byte,
    or the batch's messages of that length are built the usual way. Only with the SMTP backend,
    for plain ASCII addresses and URL-safe tokens.
    """

    _ADDRESS_MAX: Final = 60  # "To: " and 60 characters never fold (78)
    _PLAIN_ADDRESS: Final = re.compile(r"[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9.-]+")
    _PLAIN_TOKEN: Final = re.compile(r"[A-Za-z0-9_-]{8,64}")
    _MARKS: Final = ("mk.8c1e5f@copies.invalid", "mk8c1e5f", "9")
    _CHECKS: Final = ("ck" + "c" * 38 + "@" + "d" * 8 + ".example.jp", "ck7d2a4e", "8")

    def __init__(self, batch: DeliveryBatch, content: _Content, connection: Any) -> None:
        self._batch, self._content, self._connection = batch, content, connection
        self._usable = isinstance(connection, SmtpBackend)
        self._date = formatdate(localtime=settings.EMAIL_USE_LOCALTIME)
        self._renderings: dict[tuple[int, int], bytes | None] = {}
        self.envelope_from = ""

    def _render(self, address: str, token: str, pk: int) -> bytes:
        row = Delivery(pk=pk, subscriber=Subscriber(address=address, token=token))
        message = _email(self._batch, row, self._content, self._connection)
        message.extra_headers["Date"] = self._date
        encoding = message.encoding or settings.DEFAULT_CHARSET
        self.envelope_from = sanitize_address(message.from_email, encoding)
        return message.message().as_bytes(linesep="\r\n")

    @staticmethod
    def _values(
        marks: tuple[str, str, str], token_length: int, pk_length: int
    ) -> tuple[str, str, int]:
        address, token, digit = marks
        return address, (token * 8)[:token_length], int(digit * pk_length)

    @staticmethod
    def _substitute(data: bytes, old: tuple[str, str, int], new: tuple[str, str, int]) -> bytes:
        return (
            data.replace(old[0].encode(), new[0].encode())
            .replace(old[1].encode(), new[1].encode())
            .replace(f"<delivery-{old[2]}@".encode(), f"<delivery-{new[2]}@".encode())
        )

    def _rendering(self, token_length: int, pk_length: int) -> bytes | None:
        key = (token_length, pk_length)
        if key not in self._renderings:
            marks = self._values(self._MARKS, token_length, pk_length)
            checks = self._values(self._CHECKS, token_length, pk_length)
            data = self._render(*marks)
            if self._substitute(data, marks, checks) == self._render(*checks):
                self._renderings[key] = data
            else:
                logger.warning("e-mails of batch %s are built one by one", self._batch.pk)
                self._renderings[key] = None
        return self._renderings[key]

    def for_row(self, row: Delivery) -> bytes | None:
        """The row's message as bytes, or None when it must be built the usual way."""
        address, token = row.subscriber.address, row.subscriber.token
        if not (
            self._usable
            and len(address) <= self._ADDRESS_MAX
            and self._PLAIN_ADDRESS.fullmatch(address)
            and self._PLAIN_TOKEN.fullmatch(token)
        ):
            return None
        data = self._rendering(len(token), len(str(row.pk)))
        if data is None:
            return None
        marks = self._values(self._MARKS, len(token), len(str(row.pk)))
        return self._substitute(data, marks, (address, token, row.pk))


def _mark_sent(row_pk: int) -> None:
    """One row sent: a single prepared UPDATE, as cheap as the database allows."""
    state, sent_at, attempts, pk = (
        _column(name) for name in ("state", "sent_at", "attempts", "id")
    )
    sql = (
        f"UPDATE {db.ops.quote_name(Delivery._meta.db_table)} SET {state} = %s, {sent_at} = %s, "  # noqa: S608 - names from the model, values as parameters
        f"{attempts} = {attempts} + 1 WHERE {pk} = %s"
    )
    now = db.ops.adapt_datetimefield_value(timezone.now())
    with db.cursor() as cursor:
        cursor.execute(sql, [str(DeliveryState.SENT), now, row_pk])


def _deliver_email(batch: DeliveryBatch, rows: list[Delivery]) -> None:
    content = _content(batch)
    connection = get_connection(fail_silently=False)
    try:
        connection.open()
        copies = _Copies(batch, content, connection)
        for row in rows:
            try:
                data = copies.for_row(row)
                if data is not None:
                    # One message per recipient over the batch's connection, as send_messages
                    # would (it holds no state between messages).
                    connection.connection.sendmail(
                        copies.envelope_from, [row.subscriber.address], data
                    )
                else:
                    connection.send_messages([_email(batch, row, content, connection)])
            except smtplib.SMTPRecipientsRefused as exc:
                Delivery.objects.filter(pk=row.pk).update(
                    state=DeliveryState.FAILED,
                    reason=f"refused: {list(exc.recipients.values())[:1]}"[:500],
                    attempts=F("attempts") + 1,
                )
                continue
            # Marked right after the server took it: a worker dying here is the only window.
            _mark_sent(row.pk)
    except (smtplib.SMTPException, OSError) as exc:
        _requeue_or_fail(batch, f"smtp: {type(exc).__name__}: {exc}"[:300], None)
        return
    finally:
        try:
            connection.close()
        except (smtplib.SMTPException, OSError):
            logger.info("SMTP connection did not close cleanly", exc_info=True)
    _batch_done(batch)


def batch_deliver(*, batch: DeliveryBatch) -> None:
    """Send the batch's rows not yet sent, then mark them (or retry/fail the batch)."""
    if batch.channel == Channel.LINE:
        _deliver_line(batch)
        return
    rows = list(
        Delivery.objects.filter(batch=batch, state=DeliveryState.QUEUED).select_related(
            "subscriber"
        )
    )
    if not rows:
        _batch_done(batch)
        return
    _deliver_email(batch, rows)


def send_drain(*, send_id: int | None = None) -> int:
    """Deliver due batches (of one send, or all) until none is due; returns batches handled.

    When batches wait for a retry, the drain of the send is enqueued again for that time.
    """
    handled = 0
    while (batch := batch_claim(send_id=send_id)) is not None:
        batch_deliver(batch=batch)
        handled += 1
    if send_id is not None:
        waiting = DeliveryBatch.objects.filter(
            send_id=send_id, state__in=[BatchState.QUEUED, BatchState.SENDING]
        ).aggregate(retry=Min("next_attempt_at"), lease=Min("claimed_until"))
        when = min((t for t in (waiting["retry"], waiting["lease"]) if t is not None), default=None)
        if when is not None:
            _enqueue_drain(send_id, max(when, timezone.now()))
    return handled
