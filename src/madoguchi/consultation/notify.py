"""E-mail to staff when a conversation waits for them in the hand-over inbox.

A mail says only that a consultation is waiting: the municipality, the department, when it was
handed over and a link to the conversation page behind the staff sign-in. The resident's words
and anything else about them stay in the system, since mail leaves it.

Who gets it: the active members of the conversation's department who may answer (clerks,
supervisors, admins; viewers cannot reply) and have an e-mail address; for a conversation not
assigned to a department, the municipality-wide members; never a clinic account. Mails are
queued as a task once the transaction commits, so a mail server that is down never undoes what
the resident sent; each mail is a notice of messaging's notification path (template, delivery
log, retries).
"""

from __future__ import annotations

import datetime
import logging
from enum import StrEnum
from typing import Final

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from madoguchi.consultation.models import Conversation, ConversationState
from madoguchi.messaging.notices import NoticeKind, notice_send
from madoguchi.surveillance.selectors import clinic_user_ids
from madoguchi.tenants.models import Membership, Role

__all__ = [
    "ANSWERING_ROLES",
    "REMINDER_INTERVAL",
    "StaffMail",
    "staff_mail_on_handover",
    "staff_mail_on_resident_message",
    "staff_mail_recipients",
    "staff_mail_send",
]

logger = logging.getLogger(__name__)

# At most one reminder per conversation in this time, however many messages the resident sends.
REMINDER_INTERVAL: Final = datetime.timedelta(hours=1)
ANSWERING_ROLES: Final = (Role.ADMIN, Role.SUPERVISOR, Role.CLERK)
_IN_INBOX: Final = (ConversationState.WAITING, ConversationState.ANSWERED)


class StaffMail(StrEnum):
    HANDOVER = "handover"  # a conversation has just been handed over
    REMINDER = "reminder"  # the resident wrote again and nobody has opened it since


def _schedule(conversation: Conversation, kind: StaffMail) -> None:
    from madoguchi.consultation import tasks  # tasks imports this module

    conversation_id = str(conversation.pk)
    # robust: a queue that cannot be written must not turn the resident's answer into an error.
    transaction.on_commit(
        lambda: tasks.notify_staff.enqueue(conversation_id=conversation_id, kind=str(kind)),
        robust=True,
    )


def staff_mail_on_handover(*, conversation: Conversation, previous_state: str) -> None:
    """Mail the department once a conversation lands in its inbox (after the commit).

    Asking for a person again while the conversation already waits counts as a message in it.
    """
    if previous_state in _IN_INBOX:
        staff_mail_on_resident_message(conversation=conversation, previous_state=previous_state)
        return
    now = timezone.now()
    Conversation.objects.filter(pk=conversation.pk).update(notified_at=now, staff_seen_at=None)
    conversation.notified_at, conversation.staff_seen_at = now, None
    _schedule(conversation, StaffMail.HANDOVER)


def staff_mail_on_resident_message(*, conversation: Conversation, previous_state: str) -> None:
    """Remind the department of a waiting conversation that nobody has opened since it waits.

    After a staff reply the resident's next message makes the conversation wait again, so it
    counts as unopened. The reminder is claimed with one conditional update, so two messages
    arriving together send one mail, and none goes out within REMINDER_INTERVAL of the last.
    """
    now = timezone.now()
    if previous_state == ConversationState.ANSWERED:
        Conversation.objects.filter(pk=conversation.pk).update(staff_seen_at=None)
        conversation.staff_seen_at = None
    claimed = (
        Conversation.objects.filter(pk=conversation.pk, staff_seen_at__isnull=True)
        .filter(Q(notified_at__isnull=True) | Q(notified_at__lte=now - REMINDER_INTERVAL))
        .update(notified_at=now)
    )
    if claimed:
        conversation.notified_at = now
        _schedule(conversation, StaffMail.REMINDER)


def staff_mail_recipients(*, conversation: Conversation) -> list[str]:
    """The addresses to mail about ``conversation``, one per person, in a stable order."""
    members = Membership.objects.filter(
        municipality_id=conversation.municipality_id,
        role__in=ANSWERING_ROLES,
        user__is_active=True,
    ).exclude(user__email="")
    # A clinic account never hears of a resident's hand-over, whatever role it was given.
    members = members.exclude(user_id__in=clinic_user_ids())
    if conversation.department_id is None:
        members = members.filter(department__isnull=True)
    else:
        members = members.filter(department_id=conversation.department_id)
    emails = members.values_list("user__email", flat=True).order_by("user__email")
    return list(dict.fromkeys(e.strip() for e in emails if e and e.strip()))


def _values(conversation: Conversation) -> dict[str, str]:
    municipality = conversation.municipality
    path = reverse(
        "consultation:conversation",
        kwargs={"municipality_slug": municipality.slug, "conversation_id": conversation.pk},
    )
    handed_over = timezone.localtime(conversation.handover_at or timezone.now())
    return {
        "municipality": municipality.name,
        "department": conversation.department.name if conversation.department else _("未割当"),
        "channel": str(conversation.get_channel_display()),
        "handed_over": f"{handed_over:%Y-%m-%d %H:%M}",
        "url": f"{settings.MADOGUCHI_SITE_URL}{path}",
    }


def staff_mail_send(*, conversation_id: str, kind: str) -> int:
    """Send the mail about a conversation to each recipient; returns how many went out.

    Nothing is sent when the conversation is gone (purged) or no longer waits for staff. A mail
    server that refuses is logged and counts as 0: the conversation is already stored.
    """
    try:
        mail_kind = StaffMail(kind)
        conversation = (
            Conversation.objects.select_related("municipality", "department")
            .filter(pk=conversation_id, state__in=_IN_INBOX)
            .first()
        )
    except (ValueError, ValidationError):  # an unknown kind, or an id that is not a UUID
        return 0
    if conversation is None:
        return 0
    recipients = staff_mail_recipients(conversation=conversation)
    if not recipients:
        return 0
    with translation.override(settings.LANGUAGE_CODE):
        values = _values(conversation)
    kind = NoticeKind.HANDOVER if mail_kind == StaffMail.HANDOVER else NoticeKind.HANDOVER_REMINDER
    # One message per person, so that nobody sees the other recipients' addresses; each is a
    # notice of its own in the delivery log, retried when the mail server is down.
    sent, error = 0, None
    for to in recipients:
        result = notice_send(
            municipality=conversation.municipality,
            kind=kind,
            to=to,
            language=settings.LANGUAGE_CODE,
            values=values,
        )
        sent += int(result.sent)
        error = error or result.error
    if error is not None:
        logger.error(
            "could not e-mail staff about conversation %s", conversation.pk, exc_info=error
        )
    return sent
