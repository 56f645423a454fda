"""The 疫学調査 contact list and the close-contact definition (濃厚接触者) of each disease.

The infectious period and the kinds of contact that count are the disease's, declared in
:mod:`madoguchi.surveillance.diseases` with their source: for COVID-19 from 2 days before day 0
and household, unprotected care, body fluids or within 1 m for 15 minutes; for 麻しん from 1 day
before the onset to 4 days after the rash and household, a shared space or unprotected care.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass

from django.db import transaction
from django.utils.translation import gettext as _

from madoguchi.audit.services import AuditActor, audit_event
from madoguchi.surveillance.diseases import DISEASES, ContactKind, day_resolve
from madoguchi.surveillance.errors import ErrorCode, SurveillanceError
from madoguchi.surveillance.models import Case, Contact

__all__ = [
    "ContactInput",
    "InfectiousPeriod",
    "contact_add",
    "contact_kinds",
    "infectious_from",
    "infectious_period",
    "is_close_contact",
]


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
    shared_space: bool = False  # 同じ室内・車内など空間を共有した (麻しん)

    def has(self, kind: ContactKind) -> bool:
        value = getattr(self, kind.value)
        assert isinstance(value, bool)
        return value


@dataclass(frozen=True, slots=True)
class InfectiousPeriod:
    """感染可能期間 of a case, each bound with how the page explains it."""

    first: datetime.date
    first_basis: str  # 発病日の1日前
    last: datetime.date | None  # None: no end the judgement uses
    last_basis: str


def contact_kinds(case: Case) -> tuple[ContactKind, ...]:
    """The kinds of contact the case's disease counts (and the contact form shows)."""
    return DISEASES[case.disease].investigation.contact_kinds


def infectious_period(case: Case) -> InfectiousPeriod:
    """The infectious period of ``case`` under its disease's definition."""
    investigation = DISEASES[case.disease].investigation
    first = day_resolve(investigation.infectious_from, day_zero=case.day_zero, dates=case.health)
    assert first is not None, "every infectious_from ends with an offset from day 0"
    last = day_resolve(investigation.infectious_to, day_zero=case.day_zero, dates=case.health)
    return InfectiousPeriod(
        first=first[0],
        first_basis=str(first[1]),
        last=last[0] if last is not None else None,
        last_basis=str(last[1]) if last is not None else "",
    )


def infectious_from(case: Case) -> datetime.date:
    return infectious_period(case).first


def is_close_contact(case: Case, data: ContactInput) -> bool:
    """In the infectious period and one of the kinds of contact the disease's definition counts."""
    period = infectious_period(case)
    if data.last_contact < period.first:
        return False
    if period.last is not None and data.last_contact > period.last:
        return False
    return any(data.has(kind) for kind in contact_kinds(case))


@transaction.atomic
def contact_add(
    *, case: Case, data: ContactInput, actor: AuditActor, today: datetime.date
) -> Contact:
    """Record a contact of ``case``; whether it is a close contact is computed, not typed.

    Only the kinds of contact the case's disease counts are kept; others are ignored.
    """
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
            **{kind.value: data.has(kind) for kind in contact_kinds(case)},
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
