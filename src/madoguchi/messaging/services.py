"""Writes of messaging: topics, areas, settings, subscriptions, templates and sends.

Every change is audited. Deliveries are made and sent by :mod:`madoguchi.messaging.delivery`,
scheduled through the task queue after the transaction commits.
"""

from __future__ import annotations

import csv
import datetime
import io
import secrets
from collections.abc import Sequence

from django.core.exceptions import ValidationError
from django.core.validators import validate_email, validate_slug
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from madoguchi.audit.services import AuditActor, audit_event
from madoguchi.messaging import selectors, tasks
from madoguchi.messaging.errors import MessagingError, MessagingErrorCode
from madoguchi.messaging.models import (
    Area,
    Channel,
    MessagingSettings,
    Send,
    SendState,
    Subscriber,
    Template,
    Topic,
)
from madoguchi.messaging.models.subscriptions import address_digest
from madoguchi.messaging.templating import template_text_check
from madoguchi.tenants.models import Municipality

__all__ = [
    "area_save",
    "areas_import_csv",
    "line_subscription_set",
    "line_unsubscribe",
    "messaging_settings_save",
    "send_approve",
    "send_cancel",
    "send_create",
    "subscription_confirm",
    "subscription_request",
    "subscription_unsubscribe",
    "subscription_update",
    "template_save",
    "topic_save",
]

LANGUAGES = ("ja", "en")
_AREA_CSV_LIMIT = 5000


def _code_check(code: str, code_error: MessagingErrorCode) -> None:
    try:
        validate_slug(code)
    except ValidationError as exc:
        raise MessagingError(
            code_error, _("コードは半角英数字・ハイフン・下線で入力してください。")
        ) from exc


@transaction.atomic
def topic_save(
    *,
    municipality: Municipality,
    code: str,
    name: str,
    name_en: str = "",
    urgent: bool = False,
    is_active: bool = True,
    order: int = 100,
    actor: AuditActor,
) -> Topic:
    """Create or change the topic with ``code``."""
    code, name = code.strip(), name.strip()
    _code_check(code, MessagingErrorCode.TOPIC_INVALID)
    if not name:
        raise MessagingError(MessagingErrorCode.TOPIC_INVALID, _("名称を入力してください。"))
    topic, created = Topic.objects.update_or_create(
        municipality=municipality,
        code=code,
        defaults={
            "name": name[:50],
            "name_en": name_en.strip()[:80],
            "urgent": urgent,
            "is_active": is_active,
            "order": order,
        },
    )
    audit_event(
        municipality=municipality,
        action="messaging.topic_create" if created else "messaging.topic_change",
        actor=actor,
        obj=topic,
        data={"code": code, "urgent": urgent, "active": is_active},
    )
    return topic


@transaction.atomic
def area_save(
    *,
    municipality: Municipality,
    code: str,
    name: str,
    name_en: str = "",
    order: int = 100,
    actor: AuditActor,
) -> Area:
    """Create or change the area with ``code``."""
    code, name = code.strip(), name.strip()
    _code_check(code, MessagingErrorCode.AREA_INVALID)
    if not name or len(name) > 50:
        raise MessagingError(
            MessagingErrorCode.AREA_INVALID, _("地域の名称を50文字以内で入力してください。")
        )
    area, created = Area.objects.update_or_create(
        municipality=municipality,
        code=code,
        defaults={"name": name, "name_en": name_en.strip()[:80], "order": order},
    )
    audit_event(
        municipality=municipality,
        action="messaging.area_create" if created else "messaging.area_change",
        actor=actor,
        obj=area,
        data={"code": code},
    )
    return area


@transaction.atomic
def areas_import_csv(*, municipality: Municipality, data: bytes, actor: AuditActor) -> int:
    """Create or change areas from a CSV (code,name[,name_en]); all rows or none."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise MessagingError(
            MessagingErrorCode.CSV_INVALID, _("CSVファイルはUTF-8で保存してください。")
        ) from exc
    rows = [row for row in csv.reader(io.StringIO(text)) if any(cell.strip() for cell in row)]
    if rows and rows[0] and rows[0][0].strip().lower() == "code":
        rows = rows[1:]
    if not rows or len(rows) > _AREA_CSV_LIMIT:
        raise MessagingError(
            MessagingErrorCode.CSV_INVALID,
            _("CSVに地域が1行もないか、多すぎます（%(limit)d行まで）。")
            % {"limit": _AREA_CSV_LIMIT},
        )
    for number, row in enumerate(rows, start=1):
        if len(row) < 2:
            raise MessagingError(
                MessagingErrorCode.CSV_INVALID,
                _("%(line)d行目：コードと名称の2列が必要です。") % {"line": number},
            )
        try:
            area_save(
                municipality=municipality,
                code=row[0],
                name=row[1],
                name_en=row[2] if len(row) > 2 else "",
                order=number,
                actor=actor,
            )
        except MessagingError as exc:
            raise MessagingError(
                MessagingErrorCode.CSV_INVALID,
                _("%(line)d行目：%(message)s") % {"line": number, "message": exc.message},
            ) from exc
    return len(rows)


@transaction.atomic
def messaging_settings_save(
    *,
    municipality: Municipality,
    quiet_start: datetime.time,
    quiet_end: datetime.time,
    approval_threshold: int,
    actor: AuditActor,
) -> MessagingSettings:
    """Quiet hours (start == end: none) and the send size that needs a supervisor."""
    if approval_threshold < 1:
        raise MessagingError(
            MessagingErrorCode.SETTINGS_INVALID, _("承認が必要な宛先数は1以上にしてください。")
        )
    found, _created = MessagingSettings.objects.update_or_create(
        municipality=municipality,
        defaults={
            "quiet_start": quiet_start,
            "quiet_end": quiet_end,
            "approval_threshold": approval_threshold,
        },
    )
    audit_event(
        municipality=municipality,
        action="messaging.settings_change",
        actor=actor,
        obj=found,
        data={
            "quiet_start": quiet_start.isoformat(),
            "quiet_end": quiet_end.isoformat(),
            "approval_threshold": approval_threshold,
        },
    )
    return found


# --- subscriptions ----------------------------------------------------------------------------


def _choices(
    municipality: Municipality, topic_codes: Sequence[str], area_code: str, language: str
) -> tuple[list[Topic], Area | None, str]:
    topics = list(
        selectors.topic_list(municipality=municipality, active_only=True).filter(
            code__in=list(topic_codes)
        )
    )
    if not topics or len(topics) != len(set(topic_codes)):
        raise MessagingError(
            MessagingErrorCode.SUBSCRIPTION_INVALID,
            _("受け取りたいお知らせの種類を1つ以上選んでください。"),
        )
    area = None
    if area_code:
        area = selectors.area_list(municipality=municipality).filter(code=area_code).first()
        if area is None:
            raise MessagingError(
                MessagingErrorCode.SUBSCRIPTION_INVALID, _("地域を一覧から選んでください。")
            )
    if language not in LANGUAGES:
        raise MessagingError(
            MessagingErrorCode.SUBSCRIPTION_INVALID, _("言語を一覧から選んでください。")
        )
    return topics, area, language


def _new_token() -> str:
    return secrets.token_urlsafe(32)


@transaction.atomic
def subscription_request(
    *,
    municipality: Municipality,
    email: str,
    topic_codes: Sequence[str],
    area_code: str,
    language: str,
    actor: AuditActor,
) -> Subscriber:
    """Record the choices of an e-mail address and mail it a confirmation link (double opt-in).

    An address already confirmed keeps its choices: whoever typed it is only sent the link to
    the page of choices, so nobody can change another person's subscription by knowing the
    address.
    """
    email = email.strip()
    try:
        validate_email(email)
    except ValidationError as exc:
        raise MessagingError(
            MessagingErrorCode.SUBSCRIPTION_INVALID, _("メールアドレスの形式が正しくありません。")
        ) from exc
    topics, area, language = _choices(municipality, topic_codes, area_code, language)
    subscriber = (
        Subscriber.objects.select_for_update()
        .filter(
            municipality=municipality,
            channel=Channel.EMAIL,
            address_digest=address_digest(email),
        )
        .first()
    )
    if subscriber is not None and subscriber.is_active:
        kind = "manage"
    else:
        kind = "confirm"
        if subscriber is None:
            subscriber = Subscriber(municipality=municipality, channel=Channel.EMAIL, address=email)
        subscriber.token = _new_token()
        subscriber.language = language
        subscriber.area = area
        subscriber.confirmed_at = None
        subscriber.unsubscribed_at = None
        subscriber.save()
        subscriber.topics.set(topics)
    audit_event(
        municipality=municipality,
        action="messaging.subscription_request",
        actor=actor,
        obj=subscriber,
        data={"channel": "email", "kind": kind},
    )
    subscriber_id = subscriber.pk
    transaction.on_commit(
        lambda: tasks.subscription_mail.enqueue(subscriber_id=subscriber_id, kind=kind)
    )
    return subscriber


def _by_token(municipality: Municipality, token: str) -> Subscriber:
    subscriber = selectors.subscriber_by_token(municipality=municipality, token=token)
    if subscriber is None:
        raise MessagingError(
            MessagingErrorCode.LINK_INVALID,
            _("このリンクは無効です。お手数ですが、もう一度登録してください。"),
        )
    return subscriber


@transaction.atomic
def subscription_confirm(
    *, municipality: Municipality, token: str, actor: AuditActor
) -> Subscriber:
    """The address is the resident's: messages may now be sent to it."""
    subscriber = _by_token(municipality, token)
    if subscriber.confirmed_at is None or subscriber.unsubscribed_at is not None:
        subscriber.confirmed_at = timezone.now()
        subscriber.unsubscribed_at = None
        subscriber.save(update_fields=["confirmed_at", "unsubscribed_at"])
        audit_event(
            municipality=municipality,
            action="messaging.subscription_confirm",
            actor=actor,
            obj=subscriber,
        )
    return subscriber


@transaction.atomic
def subscription_update(
    *,
    municipality: Municipality,
    token: str,
    topic_codes: Sequence[str],
    area_code: str,
    language: str,
    actor: AuditActor,
) -> Subscriber:
    """Change the choices of the subscriber the token belongs to."""
    subscriber = _by_token(municipality, token)
    topics, area, language = _choices(municipality, topic_codes, area_code, language)
    subscriber.area = area
    subscriber.language = language
    subscriber.save(update_fields=["area", "language"])
    subscriber.topics.set(topics)
    audit_event(
        municipality=municipality,
        action="messaging.subscription_change",
        actor=actor,
        obj=subscriber,
        data={"topics": sorted(t.code for t in topics), "area": area.code if area else ""},
    )
    return subscriber


@transaction.atomic
def subscription_unsubscribe(
    *, municipality: Municipality, token: str, actor: AuditActor
) -> Subscriber:
    """Stop every message to this subscriber (one step, from the link in any message)."""
    subscriber = _by_token(municipality, token)
    if subscriber.unsubscribed_at is None:
        subscriber.unsubscribed_at = timezone.now()
        subscriber.save(update_fields=["unsubscribed_at"])
        audit_event(
            municipality=municipality,
            action="messaging.unsubscribe",
            actor=actor,
            obj=subscriber,
            data={"channel": subscriber.channel},
        )
    return subscriber


@transaction.atomic
def line_subscription_set(
    *,
    municipality: Municipality,
    line_user_id: str,
    topic_codes: Sequence[str],
    area_code: str,
    language: str = "ja",
) -> Subscriber:
    """Subscribe a LINE friend; following the official account is its consent."""
    topics, area, language = _choices(municipality, topic_codes, area_code, language)
    subscriber, _created = Subscriber.objects.select_for_update().get_or_create(
        municipality=municipality,
        channel=Channel.LINE,
        address_digest=address_digest(line_user_id[:254]),
        defaults={"token": _new_token(), "language": language, "address": line_user_id[:254]},
    )
    subscriber.area = area
    subscriber.language = language
    subscriber.confirmed_at = subscriber.confirmed_at or timezone.now()
    subscriber.unsubscribed_at = None
    subscriber.save()
    subscriber.topics.set(topics)
    audit_event(
        municipality=municipality,
        action="messaging.subscription_line",
        actor=AuditActor(label="line"),
        obj=subscriber,
        data={"topics": sorted(t.code for t in topics), "area": area.code if area else ""},
    )
    return subscriber


@transaction.atomic
def line_unsubscribe(*, municipality: Municipality, line_user_id: str) -> bool:
    """Stop messages to a LINE user (the 配信停止 button, or unfollowing); False: none were."""
    subscriber = selectors.subscriber_for_line_user(municipality=municipality, user_id=line_user_id)
    if subscriber is None or subscriber.unsubscribed_at is not None:
        return False
    subscription_unsubscribe(
        municipality=municipality, token=subscriber.token, actor=AuditActor(label="line")
    )
    return True


# --- templates and sends ----------------------------------------------------------------------


@transaction.atomic
def template_save(
    *,
    municipality: Municipality,
    name: str,
    topic: Topic,
    subject_ja: str,
    body_ja: str,
    subject_en: str = "",
    body_en: str = "",
    template: Template | None = None,
    actor: AuditActor,
) -> Template:
    """Create or change a template; its variables are checked in both languages."""
    if topic.municipality_id != municipality.pk:
        raise MessagingError(MessagingErrorCode.TEMPLATE_INVALID, _("種類を選んでください。"))
    if template is not None and template.municipality_id != municipality.pk:
        raise MessagingError(MessagingErrorCode.TEMPLATE_INVALID, _("テンプレートがありません。"))
    if not name.strip() or not subject_ja.strip() or not body_ja.strip():
        raise MessagingError(
            MessagingErrorCode.TEMPLATE_INVALID,
            _("テンプレート名、件名と本文（日本語）を入力してください。"),
        )
    if bool(subject_en.strip()) != bool(body_en.strip()):
        raise MessagingError(
            MessagingErrorCode.TEMPLATE_INVALID,
            _("英語版は件名と本文の両方を入力するか、両方とも空にしてください。"),
        )
    for text in (subject_ja, body_ja, subject_en, body_en):
        template_text_check(text)
    created = template is None
    template = template or Template(municipality=municipality)
    template.name = name.strip()[:80]
    template.topic = topic
    template.subject_ja, template.body_ja = subject_ja.strip(), body_ja.strip()
    template.subject_en, template.body_en = subject_en.strip(), body_en.strip()
    template.save()
    audit_event(
        municipality=municipality,
        action="messaging.template_create" if created else "messaging.template_change",
        actor=actor,
        obj=template,
        data={"topic": topic.code, "urgent": topic.urgent},
    )
    return template


@transaction.atomic
def send_create(
    *,
    municipality: Municipality,
    template: Template,
    topics: Sequence[Topic],
    areas: Sequence[Area],
    languages: Sequence[str],
    scheduled_at: datetime.datetime | None,
    actor: AuditActor,
) -> Send:
    """A send to the segment; above the municipality's threshold it waits for a supervisor."""
    owned = {template.municipality_id} | {t.municipality_id for t in topics}
    owned |= {a.municipality_id for a in areas}
    if owned != {municipality.pk}:
        raise MessagingError(
            MessagingErrorCode.SEGMENT_INVALID, _("宛先の条件が正しくありません。")
        )
    languages = [code for code in LANGUAGES if code in languages]
    if not topics or not languages:
        raise MessagingError(
            MessagingErrorCode.SEGMENT_INVALID, _("お知らせの種類と言語を1つ以上選んでください。")
        )
    if scheduled_at is not None and scheduled_at < timezone.now() - datetime.timedelta(minutes=1):
        raise MessagingError(
            MessagingErrorCode.SEGMENT_INVALID, _("送信日時には今より後の日時を入力してください。")
        )
    counts = selectors.segment_count(
        municipality=municipality,
        topic_ids=[t.pk for t in topics],
        area_ids=[a.pk for a in areas],
        languages=languages,
    )
    total = sum(counts.values())
    if total == 0:
        raise MessagingError(
            MessagingErrorCode.SEGMENT_INVALID, _("この条件に当てはまる登録者がいません。")
        )
    threshold = selectors.messaging_settings_get(municipality=municipality).approval_threshold
    urgent = template.topic.urgent or any(t.urgent for t in topics)
    send = Send.objects.create(
        municipality=municipality,
        template=template,
        languages=",".join(languages),
        urgent=urgent,
        state=SendState.AWAITING_APPROVAL if total > threshold else SendState.SCHEDULED,
        scheduled_at=scheduled_at,
        recipient_count=total,
        created_by=actor.user,
    )
    send.topics.set(topics)
    send.areas.set(areas)
    audit_event(
        municipality=municipality,
        action="messaging.send_create",
        actor=actor,
        obj=send,
        data={
            "template": template.pk,
            "topics": sorted(t.code for t in topics),
            "areas": sorted(a.code for a in areas),
            "languages": languages,
            "recipients": counts,
            "urgent": urgent,
            "state": send.state,
        },
    )
    if send.state == SendState.SCHEDULED:
        _schedule(send)
    return send


def _schedule(send: Send) -> None:
    send_id, run_after = send.pk, send.scheduled_at
    if run_after is not None and run_after > timezone.now():
        transaction.on_commit(
            lambda: tasks.send_dispatch.using(run_after=run_after).enqueue(send_id=send_id)
        )
    else:
        transaction.on_commit(lambda: tasks.send_dispatch.enqueue(send_id=send_id))


def _locked(send: Send) -> Send:
    return Send.objects.select_for_update().get(pk=send.pk, municipality_id=send.municipality_id)


@transaction.atomic
def send_approve(*, send: Send, actor: AuditActor) -> Send:
    """A supervisor lets a large send go; the one who made it cannot approve it."""
    send = _locked(send)
    if send.state != SendState.AWAITING_APPROVAL:
        raise MessagingError(MessagingErrorCode.SEND_STATE, _("この配信は承認待ちではありません。"))
    if actor.user is None or actor.user.pk == send.created_by_id:
        raise MessagingError(
            MessagingErrorCode.APPROVAL_REFUSED,
            _("配信を作成した職員とは別の監督者が承認してください。"),
        )
    send.state = SendState.SCHEDULED
    send.approved_by = actor.user
    send.save(update_fields=["state", "approved_by"])
    audit_event(
        municipality=send.municipality, action="messaging.send_approve", actor=actor, obj=send
    )
    _schedule(send)
    return send


@transaction.atomic
def send_cancel(*, send: Send, actor: AuditActor) -> Send:
    """Take back a send that has not started."""
    send = _locked(send)
    if send.state not in {SendState.AWAITING_APPROVAL, SendState.SCHEDULED, SendState.HELD}:
        raise MessagingError(MessagingErrorCode.SEND_STATE, _("送信を始めた配信は取り消せません。"))
    send.state = SendState.CANCELLED
    send.save(update_fields=["state"])
    audit_event(
        municipality=send.municipality, action="messaging.send_cancel", actor=actor, obj=send
    )
    return send
