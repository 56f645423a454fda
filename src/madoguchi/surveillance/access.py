"""Who may open the clinic pages and the health-centre pages of a body."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import wraps
from typing import Any, Final

from django.core.exceptions import PermissionDenied
from django.http import HttpRequest
from django.http.response import HttpResponseBase
from django.shortcuts import render
from django.urls import reverse
from django.utils.translation import gettext as _

from madoguchi.accounts.permissions import StaffContext, staff_view
from madoguchi.audit.services import AuditActor, audit_access
from madoguchi.surveillance.models import Case, Clinic, HealthCentre
from madoguchi.surveillance.selectors import (
    case_get,
    clinic_for_user,
    health_centres_for_departments,
)
from madoguchi.tenants.models import Department, Municipality, Role


@dataclass(frozen=True, slots=True)
class CentreContext:
    staff: StaffContext
    centres: list[HealthCentre]

    def actor_department(self) -> Department | None:
        return self.centres[0].department if len(self.centres) == 1 else None


def clinic_view(view: Callable[..., HttpResponseBase]) -> Callable[..., HttpResponseBase]:
    """A signed-in clinic account (password and TOTP) of the URL's body; others get 403."""

    @staff_view()
    @wraps(view)
    def wrapped(
        request: HttpRequest, municipality: Municipality, staff: StaffContext, *args: Any, **kw: Any
    ) -> HttpResponseBase:
        clinic = clinic_for_user(municipality=municipality, user_id=staff.user.pk)
        if clinic is None:
            raise PermissionDenied("not a clinic account")
        return view(request, municipality, staff, clinic, *args, **kw)

    return wrapped


_READING = frozenset({"GET", "HEAD"})


def _may_act(staff: StaffContext, centres: list[HealthCentre]) -> bool:
    """A role above viewer, municipality-wide or in one of the health centres' departments."""
    departments = {c.department_id for c in centres}
    return any(
        m.role != Role.VIEWER and (m.department_id is None or m.department_id in departments)
        for m in staff.memberships
    )


def centre_view(view: Callable[..., HttpResponseBase]) -> Callable[..., HttpResponseBase]:
    """Staff of one of the body's health centres (or municipality-wide); never a clinic."""

    @staff_view()
    @wraps(view)
    def wrapped(
        request: HttpRequest, municipality: Municipality, staff: StaffContext, *args: Any, **kw: Any
    ) -> HttpResponseBase:
        if Clinic.objects.filter(user_id=staff.user.pk).exists():
            raise PermissionDenied("clinic accounts see only their notifications")
        wide = any(m.department_id is None for m in staff.memberships)
        centres = health_centres_for_departments(
            municipality=municipality, departments=None if wide else staff.departments
        )
        if not centres:
            raise PermissionDenied("not health-centre staff")
        if request.method not in _READING and not _may_act(staff, centres):
            raise PermissionDenied("a viewer reads but does not act on cases")
        return view(request, municipality, CentreContext(staff, centres), *args, **kw)

    return wrapped


# The purpose every health-centre read of a case's personal data is recorded under.
CASE_READ_PURPOSE: Final = "積極的疫学調査・健康観察"


def centre_actor(ctx: CentreContext, case: Case | None = None) -> AuditActor:
    """The audit actor of a health-centre page: the staff member, in the case's centre's
    department (without a case, the one centre's department, if the staff have only one)."""
    department = case.health_centre.department if case is not None else ctx.actor_department()
    return AuditActor(user=ctx.staff.user, ip=ctx.staff.ip, department=department)


def case_url(municipality: Municipality, case: Case) -> str:
    """The case page, where the case's other pages lead back to."""
    return reverse(
        "surveillance:case", kwargs={"municipality_slug": municipality.slug, "pk": case.pk}
    )


def case_read_record(*, municipality: Municipality, actor: AuditActor, case: Case) -> None:
    """Record a health-centre read of one case's personal data."""
    audit_access(municipality=municipality, actor=actor, purpose=CASE_READ_PURPOSE, obj=case)


def centre_case_view(view: Callable[..., HttpResponseBase]) -> Callable[..., HttpResponseBase]:
    """A ``centre_view`` of the case named by the URL's ``pk``: a case of another body or of a
    health centre the staff do not serve is a 404. The view is called with the case and the
    audit actor for it (``view(request, municipality, ctx, case, actor)``); recording the read
    is the view's own, as only it knows when its page shows the case."""

    @centre_view
    @wraps(view)
    def wrapped(
        request: HttpRequest,
        municipality: Municipality,
        ctx: CentreContext,
        *args: Any,
        pk: int,
        **kw: Any,
    ) -> HttpResponseBase:
        case = case_get(municipality=municipality, centres=ctx.centres, pk=pk)
        if case is None:
            return render(
                request, "404.html", {"message": _("この患者は見つかりません。")}, status=404
            )
        return view(request, municipality, ctx, case, centre_actor(ctx, case), *args, **kw)

    return wrapped
