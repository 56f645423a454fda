"""Console actions that need more than one app: a department's open work, clinic invitations.

The platform apps (tenants, accounts) import no domain app, so what a department still has
open is asked of each domain here and handed to the tenants service.
"""

from __future__ import annotations

from django.db import transaction
from django.utils.translation import gettext_lazy as _

from madoguchi.accounts.invitations import invitation_create
from madoguchi.accounts.models import Invitation
from madoguchi.audit.services import AuditActor
from madoguchi.consultation.selectors import handover_open_count
from madoguchi.procedures.selectors import department_open_work as procedure_open_work
from madoguchi.surveillance.models import HealthCentre
from madoguchi.surveillance.selectors import case_active_count
from madoguchi.surveillance.setup import clinic_register
from madoguchi.tenants.models import Department, Municipality
from madoguchi.tenants.staffing import department_retire

__all__ = ["OPEN_WORK_LABELS", "clinic_invite", "department_open_work", "department_retire_checked"]

OPEN_WORK_LABELS = {
    "applications": _("処理中の申請"),
    "procedures": _("この部署に届く公開中の手続き"),
    "handovers": _("対応中のチャットの引継ぎ"),
    "cases": _("療養中の患者（保健所）"),
}


def department_open_work(*, municipality: Municipality, department: Department) -> dict[str, int]:
    """Counts of what is still open in the department, by kind (see OPEN_WORK_LABELS)."""
    work = procedure_open_work(municipality=municipality, department=department)
    work["handovers"] = handover_open_count(municipality=municipality, department=department)
    work["cases"] = case_active_count(municipality=municipality, department=department)
    return work


@transaction.atomic
def department_retire_checked(*, department: Department, actor: AuditActor) -> Department:
    """Retire the department, refused while anything is open in it."""
    work = department_open_work(municipality=department.municipality, department=department)
    return department_retire(department=department, open_work=work, actor=actor)


@transaction.atomic
def clinic_invite(
    *,
    health_centre: HealthCentre,
    email: str,
    username: str,
    name: str,
    address: str,
    phone: str,
    doctor_name: str,
    actor: AuditActor,
) -> Invitation:
    """Invite a clinic (医療機関) account of ``health_centre``: it accepts like staff."""
    invitation = invitation_create(
        municipality=health_centre.municipality,
        email=email,
        username=username,
        display_name=name,
        role=None,
        department=None,
        actor=actor,
    )
    clinic_register(
        health_centre=health_centre,
        user=invitation.user,
        name=name,
        address=address,
        phone=phone,
        doctor_name=doctor_name,
        actor=actor,
    )
    return invitation
