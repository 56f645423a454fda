"""The 疫学調査 contact list and the NIID close-contact definition (濃厚接触者)."""

from __future__ import annotations

import datetime
from dataclasses import dataclass

from django.db import transaction
from django.utils.translation import gettext as _

from madoguchi.audit.services import AuditActor, audit_event
from madoguchi.surveillance.errors import ErrorCode, SurveillanceError
from madoguchi.surveillance.models import Case, Contact

__all__ = ["ContactInput", "contact_add", "infectious_from", "is_close_contact"]

# NIID: the infectious period starts two days before onset (or specimen date when asymptomatic).
DAYS_BEFORE_DAY_ZERO = 2


@dataclass(frozen=True, slots=True)
class ContactInput:
    name: str
    phone: str
    relation: str  # household / workplace / school / other
    last_contact: datetime.date
    household: bool = False  # 同居
    care_without_protection: bool = False  # 適切な感染防護なしに診察・看護・介護
    body_fluids: bool = False  # 気道分泌液・体液等の汚染物質に直接触れた
    near_15_minutes: bool = False  # 1メートル以内で15分以上、必要な感染予防策なし


def infectious_from(case: Case) -> datetime.date:
    return case.day_zero - datetime.timedelta(days=DAYS_BEFORE_DAY_ZERO)


def is_close_contact(case: Case, data: ContactInput) -> bool:
    """In the infectious period and one of the definition's kinds of contact."""
    if data.last_contact < infectious_from(case):
        return False
    return (
        data.household or data.care_without_protection or data.body_fluids or data.near_15_minutes
    )


@transaction.atomic
def contact_add(
    *, case: Case, data: ContactInput, actor: AuditActor, today: datetime.date
) -> Contact:
    """Record a contact of ``case``; whether it is a close contact is computed, not typed."""
    if not data.name.strip():
        raise SurveillanceError(ErrorCode.REQUIRED, _("入力してください。"), field="name")
    if data.last_contact > today:
        raise SurveillanceError(
            ErrorCode.DATE_FUTURE, _("未来の日付は入力できません。"), field="last_contact"
        )
    contact = Contact.objects.create(
        municipality_id=case.municipality_id,
        case=case,
        name=data.name.strip()[:100],
        phone=data.phone.strip()[:20],
        details={
            "relation": data.relation,
            "last_contact": data.last_contact.isoformat(),
            "household": data.household,
            "care_without_protection": data.care_without_protection,
            "body_fluids": data.body_fluids,
            "near_15_minutes": data.near_15_minutes,
        },
        is_close_contact=is_close_contact(case, data),
    )
    audit_event(
        municipality=case.municipality,
        action="surveillance.contact_added",
        actor=actor,
        obj=contact,
        data={"case": case.pk, "close": contact.is_close_contact},
    )
    return contact
