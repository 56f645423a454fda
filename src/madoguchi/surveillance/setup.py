"""Setting up health centres, the towns they cover, and clinic accounts."""

from __future__ import annotations

from collections.abc import Sequence

from django.db import transaction

from madoguchi.accounts.models import User
from madoguchi.accounts.services import staff_user_create
from madoguchi.audit.services import AuditActor, audit_event
from madoguchi.surveillance.models import Clinic, HealthCentre, HealthCentreArea
from madoguchi.tenants.models import Municipality, Role
from madoguchi.tenants.services import department_ensure, membership_grant

__all__ = ["clinic_create", "clinic_register", "health_centre_ensure"]


@transaction.atomic
def health_centre_ensure(
    *,
    municipality: Municipality,
    department_code: str,
    name: str,
    urgent_phone: str,
    area_codes: Sequence[str],
    actor: AuditActor,
) -> HealthCentre:
    """The health centre run by ``municipality`` as its department ``department_code``.

    Idempotent; ``area_codes`` are the 団体コード it covers (added, never taken from another
    centre silently: a code already covered elsewhere raises ``ValueError``).
    """
    department = department_ensure(
        municipality=municipality, code=department_code, name=name, actor=actor
    )
    centre, created = HealthCentre.objects.get_or_create(
        department=department,
        defaults={"municipality": municipality, "name": name, "urgent_phone": urgent_phone},
    )
    for code in area_codes:
        area = HealthCentreArea.objects.filter(code=code).first()
        if area is None:
            HealthCentreArea.objects.create(
                municipality=municipality, health_centre=centre, code=code
            )
        elif area.health_centre_id != centre.pk:
            raise ValueError(f"{code} is already covered by health centre {area.health_centre_id}")
    if created:
        audit_event(
            municipality=municipality,
            action="surveillance.health_centre_created",
            actor=actor,
            obj=centre,
            data={"areas": list(area_codes)},
        )
    return centre


@transaction.atomic
def clinic_create(
    *,
    health_centre: HealthCentre,
    username: str,
    password: str,
    name: str,
    address: str,
    phone: str,
    doctor_name: str,
    actor: AuditActor,
) -> Clinic:
    """A clinic account of ``health_centre`` with its password set here (see clinic_register)."""
    user = staff_user_create(username=username, password=password, display_name=name)
    return clinic_register(
        health_centre=health_centre,
        user=user,
        name=name,
        address=address,
        phone=phone,
        doctor_name=doctor_name,
        actor=actor,
    )


@transaction.atomic
def clinic_register(
    *,
    health_centre: HealthCentre,
    user: User,
    name: str,
    address: str,
    phone: str,
    doctor_name: str,
    actor: AuditActor,
) -> Clinic:
    """Make ``user`` (new, or invited and not yet accepted) a clinic account of ``health_centre``.

    The user signs in like staff (password, then TOTP) through a viewer membership of a
    department of its own ("<centre code>-clinics"), never of the centre's department, so that
    no queue of the health centre (applications, hand-overs from the chat) is open to it. The
    clinic pages look the Clinic up and show only its notifications; case pages refuse clinics.
    """
    municipality = health_centre.municipality
    department = department_ensure(
        municipality=municipality,
        code=f"{health_centre.department.code}-clinics"[:40],
        name=f"{health_centre.name}（医療機関アカウント）"[:100],
        actor=actor,
    )
    membership_grant(
        municipality=municipality, user=user, role=Role.VIEWER, department=department, actor=actor
    )
    clinic = Clinic.objects.create(
        municipality=municipality,
        health_centre=health_centre,
        user=user,
        name=name,
        address=address,
        phone=phone,
        doctor_name=doctor_name,
    )
    audit_event(
        municipality=municipality,
        action="surveillance.clinic_created",
        actor=actor,
        obj=clinic,
        data={"username": user.get_username()},
    )
    return clinic
