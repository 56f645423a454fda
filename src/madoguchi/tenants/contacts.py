"""Contact points: a municipality's named phone numbers, hours, e-mail and web pages.

Text a municipality writes (FAQ answers, scenarios, page and e-mail templates) names a contact
point by key — ``{contact:sodai_gomi}`` — and is rendered with the number kept here, so that a
number changes in one place and no page repeats a number that belongs to another purpose. A key
with no contact point renders as a neutral phrase, never as a made-up number.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from madoguchi.audit.services import AuditActor, audit_event
from madoguchi.core.japanese import normalize_digits, normalize_text
from madoguchi.tenants.models import ContactPoint, Department, Municipality

__all__ = [
    "ContactInput",
    "contact_point_delete",
    "contact_point_get",
    "contact_point_list",
    "contact_point_map",
    "contact_point_save",
    "contact_text",
    "contacts_substitute",
    "normalize_phone",
]

CONTACT_PLACEHOLDER = re.compile(r"\{contact:([a-z][a-z0-9_]{0,39})\}")
# 0 and 9 or 10 more digits (078-331-8181, 0120-123-456, 090-1234-5678), or a short number.
_PHONE = re.compile(r"^0\d{9,10}$")
_SHORT = re.compile(r"^#\d{4}$")


def normalize_phone(value: str) -> str:
    """The number as shown (半角, hyphens kept); ValidationError with a Japanese message."""
    text = normalize_text(value).replace(" ", "")
    if not text:
        return ""
    if _SHORT.fullmatch(text):
        return text
    digits = normalize_digits(text).replace("(", "").replace(")", "")
    hyphenated = re.sub(r"[()]", "-", text).strip("-")
    if (
        not _PHONE.fullmatch(digits)
        or not re.fullmatch(r"[0-9-]+", hyphenated)
        or "--" in hyphenated
        or hyphenated.count("-") > 2
    ):
        raise ValidationError(
            _(
                "電話番号は 078-123-4567 のように、0から始まる10桁か11桁の番号を"
                "半角数字とハイフンで入力してください（#7119 のような短縮番号も使えます）。"
            ),
            code="phone",
        )
    return hyphenated


@dataclass(frozen=True, slots=True)
class ContactInput:
    name: str
    phone: str = ""
    hours: str = ""
    email: str = ""
    url: str = ""
    note: str = ""
    department: Department | None = None


def contact_point_list(*, municipality: Municipality) -> list[ContactPoint]:
    return list(
        ContactPoint.objects.filter(municipality=municipality)
        .select_related("department")
        .order_by("key")
    )


def contact_point_map(*, municipality: Municipality) -> dict[str, ContactPoint]:
    """The municipality's contact points by key."""
    return {c.key: c for c in contact_point_list(municipality=municipality)}


def contact_point_get(*, municipality: Municipality, key: str) -> ContactPoint | None:
    return (
        ContactPoint.objects.filter(municipality=municipality, key=key)
        .select_related("department")
        .first()
    )


_FIELDS = ("name", "phone", "hours", "email", "url", "note")


@transaction.atomic
def contact_point_save(
    *, municipality: Municipality, key: str, data: ContactInput, actor: AuditActor
) -> ContactPoint:
    """Create the contact point ``key`` or change it; audited with the fields that changed."""
    if data.department is not None and data.department.municipality_id != municipality.pk:
        raise ValueError("department belongs to another municipality")
    contact = (
        ContactPoint.objects.select_for_update().filter(municipality=municipality, key=key).first()
    )
    created = contact is None
    if contact is None:
        contact = ContactPoint(municipality=municipality, key=key)
    before = {f: getattr(contact, f) for f in _FIELDS}
    before_department = contact.department_id
    for name in _FIELDS:
        setattr(contact, name, getattr(data, name))
    contact.department = data.department
    contact.full_clean()
    changed = sorted(f for f in _FIELDS if before[f] != getattr(contact, f))
    if contact.department_id != before_department:
        changed.append("department")
    if not created and not changed:
        return contact
    contact.save()
    values: dict[str, object] = {f: getattr(contact, f) for f in changed if f in _FIELDS}
    if "department" in changed:
        values["department"] = data.department.code if data.department else None
    audit_event(
        municipality=municipality,
        action="tenants.contact_point.create" if created else "tenants.contact_point.change",
        actor=actor,
        obj=contact,
        data={"key": key, "changed": changed, "values": values},
    )
    return contact


@transaction.atomic
def contact_point_delete(*, municipality: Municipality, key: str, actor: AuditActor) -> bool:
    contact = ContactPoint.objects.filter(municipality=municipality, key=key).first()
    if contact is None:
        return False
    audit_event(
        municipality=municipality,
        action="tenants.contact_point.delete",
        actor=actor,
        obj=contact,
        data={"key": key, "name": contact.name, "phone": contact.phone},
    )
    contact.delete()
    return True


def contact_text(contact: ContactPoint) -> str:
    """One line for running text: 名称（電話 078-…、受付 平日9時〜17時）."""
    details = []
    if contact.phone:
        details.append(_("電話 %(phone)s") % {"phone": contact.phone})
    if contact.hours:
        details.append(_("受付 %(hours)s") % {"hours": contact.hours})
    if not contact.phone and contact.email:
        details.append(contact.email)
    if not contact.phone and not contact.email and contact.url:
        details.append(contact.url)
    if contact.note:
        details.append(contact.note)
    return f"{contact.name}（{'、'.join(details)}）" if details else contact.name


def contacts_substitute(
    text: str,
    *,
    municipality: Municipality,
    contacts: Mapping[str, ContactPoint] | None = None,
) -> str:
    """``text`` with each ``{contact:key}`` replaced by that contact point's line.

    A key the municipality has not set becomes 「担当窓口（連絡先は準備中です）」 so that no
    sentence is left with a hole and no number is invented.
    """
    if "{contact:" not in text:
        return text
    known = contacts if contacts is not None else contact_point_map(municipality=municipality)

    def replace(match: re.Match[str]) -> str:
        contact = known.get(match.group(1))
        if contact is None:
            return _("担当窓口（連絡先は準備中です）")
        return contact_text(contact)

    return CONTACT_PLACEHOLDER.sub(replace, text)
