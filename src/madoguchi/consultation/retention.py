"""Deleting conversations kept past the retention period: their messages are personal data.

A conversation goes when its last message is older than ``CONSULTATION_RETENTION_DAYS`` and
it is not open in a staff inbox (waiting for staff or answered but not yet closed). Each
municipality's conversations go in one transaction together with one audit event that holds
the counts, never the content.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from typing import Final

from django.db import transaction
from django.db.models import Count, QuerySet
from django.utils import timezone

from madoguchi.audit.services import AuditActor, audit_event
from madoguchi.consultation.models import Conversation, ConversationState, Message
from madoguchi.tenants.models import Municipality

__all__ = ["PurgeCount", "conversation_purge", "conversations_expired"]

_BATCH: Final = 500
_OPEN_IN_INBOX: Final = (ConversationState.WAITING, ConversationState.ANSWERED)


@dataclass(frozen=True, slots=True)
class PurgeCount:
    """What was (or, in a dry run, would be) deleted for one municipality."""

    municipality: Municipality
    conversations: int
    messages: int


def conversations_expired(*, before: datetime.datetime) -> QuerySet[Conversation]:
    """Conversations of every municipality whose last message is before ``before``,
    except those still open in a staff inbox."""
    return Conversation.objects.filter(last_message_at__lt=before).exclude(state__in=_OPEN_IN_INBOX)


def _purge_municipality(
    municipality: Municipality, before: datetime.datetime, retention_days: int, actor: AuditActor
) -> PurgeCount:
    conversations = messages = 0
    with transaction.atomic():
        expired = conversations_expired(before=before).filter(municipality=municipality)
        while ids := list(expired.order_by("pk").values_list("pk", flat=True)[:_BATCH]):
            messages += Message.objects.filter(conversation_id__in=ids).delete()[0]
            conversations += Conversation.objects.filter(pk__in=ids).delete()[0]
        if conversations:
            audit_event(
                municipality=municipality,
                action="consultation.purge",
                actor=actor,
                object_type="consultation.conversation",
                data={
                    "conversations": conversations,
                    "messages": messages,
                    "retention_days": retention_days,
                    "last_message_before": before.isoformat(),
                },
            )
    return PurgeCount(municipality, conversations, messages)


def conversation_purge(
    *,
    retention_days: int,
    actor: AuditActor,
    dry_run: bool = False,
    now: datetime.datetime | None = None,
) -> list[PurgeCount]:
    """Delete (or with ``dry_run`` only count) expired conversations, per municipality.

    Returns one count per municipality that had any, in code order; an audit event
    ``consultation.purge`` is written for each municipality where something was deleted.
    """
    if retention_days < 1:
        raise ValueError("retention_days must be at least 1")
    before = (now or timezone.now()) - datetime.timedelta(days=retention_days)
    per_municipality = dict(
        conversations_expired(before=before)
        .order_by()
        .values("municipality")
        .annotate(n=Count("pk"))
        .values_list("municipality", "n")
    )
    counts = []
    for municipality in Municipality.objects.filter(pk__in=per_municipality).order_by("code"):
        if dry_run:
            expired = conversations_expired(before=before).filter(municipality=municipality)
            messages = Message.objects.filter(conversation__in=expired).count()
            counts.append(PurgeCount(municipality, per_municipality[municipality.pk], messages))
        else:
            counts.append(_purge_municipality(municipality, before, retention_days, actor))
    return counts
