"""The learning loop: turning questions the assistant could not answer into knowledge."""

from __future__ import annotations

from django.db import transaction
from django.http import QueryDict
from django.utils.translation import gettext as _

from madoguchi.accounts.permissions import StaffContext
from madoguchi.audit.services import AuditActor, audit_event
from madoguchi.consultation.errors import ConsultationError, ConsultationErrorCode
from madoguchi.consultation.models import FaqEntry, Message, Sender
from madoguchi.consultation.services import (
    MAX_ALTERNATIVES,
    FaqData,
    faq_entry_save,
    knowledge_touch,
    learning_dismiss,
    synonym_add,
)
from madoguchi.tenants.models import Municipality

__all__ = ["faq_add_alternatives", "learning_apply"]


@transaction.atomic
def faq_add_alternatives(
    *, municipality: Municipality, entry: FaqEntry, phrases: list[str], actor: AuditActor
) -> FaqEntry:
    """Add residents' wordings to an entry's alternatives (duplicates and overflow dropped)."""
    if entry.municipality_id != municipality.pk:
        raise ValueError("entry belongs to another municipality")
    entry = FaqEntry.objects.select_for_update().get(pk=entry.pk)
    merged = list(entry.alternatives)
    for phrase in (" ".join(p.split())[:200] for p in phrases):
        if phrase and phrase not in merged and phrase != entry.question:
            merged.append(phrase)
    merged = merged[:MAX_ALTERNATIVES]
    if merged != entry.alternatives:
        entry.alternatives = merged
        entry.save(update_fields=["alternatives", "updated_at"])
        knowledge_touch(municipality=municipality)
        audit_event(
            municipality=municipality,
            action="consultation.faq.update",
            actor=actor,
            obj=entry,
            data={"code": entry.code, "alternatives_added": True},
        )
    return entry


def _message_ids(municipality: Municipality, raw: str) -> list[int]:
    ids = [int(part) for part in raw.split(",") if part.strip().isdigit()][:500]
    return list(
        Message.objects.filter(
            municipality=municipality, pk__in=ids, sender=Sender.RESIDENT
        ).values_list("pk", flat=True)
    )


def _resolve(municipality: Municipality, ids: list[int], entry: FaqEntry) -> None:
    """Staff said which entry answers these questions: labels for calibrating the confidence."""
    Message.objects.filter(municipality=municipality, pk__in=ids).update(resolved_entry=entry)


def learning_apply(
    *, municipality: Municipality, staff: StaffContext, data: QueryDict
) -> str | None:
    """Apply one action of the learning page to one group of questions.

    ``action``: ``faq`` (a new entry from the group), ``alternative`` (add the group's wordings
    to an entry), ``synonym`` (declare words equivalent) or ``dismiss``. The group's questions
    are then marked as reviewed. Returns a URL to go to, or None to stay on the page.
    """
    actor = staff.actor()
    ids = _message_ids(municipality, data.get("messages", ""))
    if not ids:
        raise ConsultationError(
            ConsultationErrorCode.FAQ_INVALID, _("対象の質問が見つかりません。")
        )
    examples = [
        m.text for m in Message.objects.filter(municipality=municipality, pk__in=ids).order_by("pk")
    ]
    action = data.get("action", "")
    with transaction.atomic():
        if action == "faq":
            question = " ".join(data.get("question", "").split()) or examples[0][:200]
            created = faq_entry_save(
                municipality=municipality,
                data=FaqData(
                    code=data.get("code", ""),
                    category=data.get("category", ""),
                    question=question[:200],
                    answer=data.get("answer", ""),
                    alternatives=tuple(e[:200] for e in examples if e != question)[
                        :MAX_ALTERNATIVES
                    ],
                    department_code=data.get("department", ""),
                ),
                actor=actor,
            )
            _resolve(municipality, ids, created)
        elif action == "alternative":
            raw_entry = data.get("entry", "")
            entry = FaqEntry.objects.filter(
                municipality=municipality, pk=int(raw_entry) if raw_entry.isdigit() else 0
            ).first()
            if entry is None:
                raise ConsultationError(
                    ConsultationErrorCode.FAQ_INVALID, _("言い換えを追加するFAQを選んでください。")
                )
            faq_add_alternatives(
                municipality=municipality, entry=entry, phrases=examples, actor=actor
            )
            _resolve(municipality, ids, entry)
        elif action == "synonym":
            synonym_add(municipality=municipality, terms=data.get("terms", ""), actor=actor)
        elif action != "dismiss":
            raise ConsultationError(ConsultationErrorCode.FAQ_INVALID, _("操作を選んでください。"))
        learning_dismiss(municipality=municipality, message_ids=ids, actor=actor, resolution=action)
    return None
