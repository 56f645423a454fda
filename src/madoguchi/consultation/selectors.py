"""Reading the consultation assistant's data; every selector takes the municipality."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from typing import TYPE_CHECKING

from django.core.exceptions import ValidationError
from django.db.models import Q, QuerySet

from madoguchi.consultation.models import (
    Channel,
    Conversation,
    ConversationState,
    FaqEntry,
    KnowledgeBase,
    LineChannel,
    Message,
    Outcome,
    Scenario,
    Sender,
    SynonymGroup,
)
from madoguchi.consultation.retrieval.index import IndexedEntry
from madoguchi.core.crypto import blind_index
from madoguchi.surveillance.selectors import is_clinic_account
from madoguchi.tenants.models import Department, Municipality

if TYPE_CHECKING:
    from madoguchi.accounts.permissions import StaffContext

__all__ = [
    "chat_open",
    "conversation_for_line_user",
    "conversation_get",
    "faq_entries_for_index",
    "faq_entry_get",
    "faq_entry_list",
    "handover_open_to",
    "inbox_list",
    "knowledge_version",
    "learning_groups",
    "line_channel_active",
    "line_channel_get",
    "line_friend_url",
    "may_see_conversation",
    "scenario_get",
    "scenario_list",
    "synonym_groups",
]


def knowledge_version(*, municipality: Municipality) -> int:
    """The version of the municipality's knowledge base (0 before the first edit)."""
    row = KnowledgeBase.objects.filter(municipality=municipality).values_list("version", flat=True)
    return int(row[0]) if row else 0


def faq_entry_list(*, municipality: Municipality) -> QuerySet[FaqEntry]:
    return FaqEntry.objects.filter(municipality=municipality).select_related("department")


def faq_entry_get(*, municipality: Municipality, entry_id: int) -> FaqEntry | None:
    return faq_entry_list(municipality=municipality).filter(pk=entry_id).first()


def faq_entries_for_index(*, municipality: Municipality) -> list[IndexedEntry]:
    """Published entries as plain data for the search index (validity is checked per query).

    Read as values, not model instances: building 5,000 instances was half of the CPU of a
    rebuild after one edit.
    """
    rows = (
        FaqEntry.objects.filter(municipality=municipality, is_published=True)
        .order_by("pk")
        .values_list(
            "pk",
            "question",
            "alternatives",
            "question_en",
            "alternatives_en",
            "answer",
            "valid_from",
            "valid_until",
        )
    )
    return [
        IndexedEntry(
            id=pk,
            question=question,
            # English phrasings beside the Japanese ones, so English questions find them too.
            alternatives=tuple(alternatives)
            + FaqEntry.english_phrasings_of(question_en, alternatives_en),
            answer=answer,
            valid_from=valid_from,
            valid_until=valid_until,
        )
        for (
            pk,
            question,
            alternatives,
            question_en,
            alternatives_en,
            answer,
            valid_from,
            valid_until,
        ) in rows
    ]


def synonym_groups(*, municipality: Municipality) -> QuerySet[SynonymGroup]:
    return SynonymGroup.objects.filter(municipality=municipality)


def chat_open(*, municipality: Municipality) -> bool:
    """Whether the assistant has something to answer with: a published FAQ entry or scenario."""
    return (
        FaqEntry.objects.filter(municipality=municipality, is_published=True).exists()
        or scenario_list(municipality=municipality).exists()
    )


def scenario_list(*, municipality: Municipality) -> QuerySet[Scenario]:
    return Scenario.objects.filter(municipality=municipality, is_published=True).order_by("code")


def scenario_get(*, municipality: Municipality, code: str) -> Scenario | None:
    return scenario_list(municipality=municipality).filter(code=code).first()


def line_channel_get(*, municipality: Municipality) -> LineChannel | None:
    return LineChannel.objects.filter(municipality=municipality).first()


def line_channel_active(*, municipality: Municipality) -> bool:
    """Whether the municipality has a LINE official account set up and switched on."""
    return LineChannel.objects.filter(municipality=municipality, is_active=True).exists()


def line_friend_url(*, municipality: Municipality) -> str:
    """The add-friend link of the municipality's active LINE account, or "" when none is set."""
    channel = LineChannel.objects.filter(municipality=municipality, is_active=True).first()
    return channel.friend_url if channel is not None else ""


def conversation_get(*, municipality: Municipality, conversation_id: str) -> Conversation | None:
    """The conversation with this id in this municipality (None for another's)."""
    try:
        return (
            Conversation.objects.filter(municipality=municipality, pk=conversation_id)
            .select_related("department")
            .first()
        )
    except (ValueError, TypeError, ValidationError):  # not a UUID
        return None


def conversation_for_line_user(*, municipality: Municipality, user_id: str) -> Conversation | None:
    """The latest open LINE conversation of this user with this municipality."""
    key = blind_index(user_id, purpose="consultation.line_user")
    return (
        Conversation.objects.filter(
            municipality=municipality, channel=Channel.LINE, line_user_key=key
        )
        .exclude(state=ConversationState.CLOSED)
        .order_by("-last_message_at")
        .first()
    )


def handover_open_to(*, staff: StaffContext) -> bool:
    """Whether the hand-over inbox is open to this member at all: never to a clinic account.

    A clinic signs in like staff through a viewer membership of a department of its own, but no
    resident's hand-over is ever shown to it (docs/surveillance.md).
    """
    return not is_clinic_account(user_id=staff.user.pk)


def _wide(staff: StaffContext) -> bool:
    return any(m.department_id is None for m in staff.memberships)


def inbox_list(*, staff: StaffContext, include_answered: bool = True) -> QuerySet[Conversation]:
    """Conversations handed to a person that this staff member may see.

    Members for the whole municipality see every conversation; department members see only
    their departments'. A conversation not assigned to a department belongs to the
    municipality-wide members, the ones who are mailed about it and may answer it. Clinic
    accounts see none.
    """
    states = [ConversationState.WAITING]
    if include_answered:
        states.append(ConversationState.ANSWERED)
    if not handover_open_to(staff=staff):
        return Conversation.objects.none()
    conversations = Conversation.objects.filter(
        municipality=staff.municipality, state__in=states
    ).select_related("department")
    if not _wide(staff):
        conversations = conversations.filter(department__in=[d.pk for d in staff.departments])
    return conversations.order_by("-handover_at")


def may_see_conversation(*, staff: StaffContext, conversation: Conversation) -> bool:
    """The rule of :func:`inbox_list` for one conversation."""
    if conversation.municipality_id != staff.municipality.pk:
        return False
    if not handover_open_to(staff=staff):
        return False
    if _wide(staff):
        return True
    return conversation.department_id is not None and conversation.department_id in {
        d.pk for d in staff.departments
    }


@dataclass(frozen=True, slots=True)
class LearningGroup:
    """Resident questions that got no confident answer, grouped by their content words."""

    key: str
    count: int
    examples: tuple[str, ...]
    message_ids: tuple[int, ...]
    best_entry: FaqEntry | None
    unhelpful: int


def learning_groups(*, municipality: Municipality, limit: int = 50) -> list[LearningGroup]:
    """Unreviewed questions answered with low confidence, not at all, or marked unhelpful."""
    weak = (
        Message.objects.filter(
            municipality=municipality,
            sender=Sender.RESIDENT,
            reviewed_at__isnull=True,
        )
        .filter(Q(outcome__in=[Outcome.LOW_CONFIDENCE, Outcome.NO_MATCH]) | Q(helpful=False))
        .select_related("entry")
        .order_by("-created_at")[:2000]
    )
    grouped: dict[str, list[Message]] = defaultdict(list)
    for message in weak:
        grouped[message.group_key or f"message-{message.pk}"].append(message)
    groups = [
        LearningGroup(
            key=key,
            count=len(messages),
            examples=tuple(dict.fromkeys(m.text for m in messages))[:3],
            message_ids=tuple(m.pk for m in messages),
            best_entry=next((m.entry for m in messages if m.entry is not None), None),
            unhelpful=sum(m.helpful is False for m in messages),
        )
        for key, messages in grouped.items()
    ]
    groups.sort(key=lambda g: (-g.count, g.key))
    return groups[:limit]


def handover_open_count(*, municipality: Municipality, department: Department) -> int:
    """Conversations handed over to ``department`` and not closed."""
    return Conversation.objects.filter(
        municipality=municipality,
        department=department,
        state__in=[ConversationState.WAITING, ConversationState.ANSWERED],
    ).count()
