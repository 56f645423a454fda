"""Who may open a staff page of a municipality."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import wraps
from typing import Any
from urllib.parse import urlencode

from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponseRedirect
from django.http.response import HttpResponseBase
from django.urls import reverse
from django.utils.cache import add_never_cache_headers

from madoguchi.accounts.models import User
from madoguchi.audit.services import AuditActor
from madoguchi.core.ratelimit import client_ip
from madoguchi.sso.selectors import sso_session_acceptable
from madoguchi.tenants.http import municipality_view
from madoguchi.tenants.models import Department, Membership, Municipality, Role
from madoguchi.tenants.selectors import membership_list_for_user


@dataclass(frozen=True, slots=True)
class StaffContext:
    """The signed-in staff member's standing in one municipality, loaded once per request."""

    user: User
    municipality: Municipality
    memberships: tuple[Membership, ...]
    ip: str

    @property
    def is_admin(self) -> bool:
        return any(m.role == Role.ADMIN and m.department_id is None for m in self.memberships)

    def roles(self, department: Department | None = None) -> set[str]:
        """Roles held for ``department`` (municipality-wide memberships count everywhere)."""
        return {
            m.role
            for m in self.memberships
            if m.department_id is None
            or (department is not None and m.department_id == department.pk)
        }

    def has_role(self, roles: Iterable[str], department: Department | None = None) -> bool:
        return bool(self.roles(department) & set(roles))

    @property
    def departments(self) -> list[Department]:
        return [m.department for m in self.memberships if m.department is not None]

    def actor(self, department: Department | None = None) -> AuditActor:
        if department is None and len(self.departments) == 1:
            department = self.departments[0]
        return AuditActor(user=self.user, ip=self.ip, department=department)


def staff_view(
    *, roles: Iterable[Role] | None = None
) -> Callable[[Callable[..., HttpResponseBase]], Callable[..., HttpResponseBase]]:
    """Require a signed-in, second-factor-verified member of the URL's municipality.

    Not signed in (or without the second factor, or by password where the municipality
    requires single sign-on): redirect to the municipality's sign-in.
    Signed in but not a member, or without one of ``roles``: 403.

    Every response is marked ``Cache-Control: no-store`` (with Django's other never-cache
    headers): staff pages and downloads hold residents' personal data, which no browser cache
    on a shared counter PC and no proxy may keep.
    """
    wanted = {str(r) for r in roles} if roles else None

    def decorator(view: Callable[..., HttpResponseBase]) -> Callable[..., HttpResponseBase]:
        @municipality_view
        @wraps(view)
        def wrapped(
            request: HttpRequest, municipality: Municipality, *args: Any, **kwargs: Any
        ) -> HttpResponseBase:
            user = request.user
            if not (
                isinstance(user, User)
                and user.is_verified()  # type: ignore[attr-defined]
                and sso_session_acceptable(user=user, municipality=municipality)
            ):
                login = reverse("accounts:login", kwargs={"municipality_slug": municipality.slug})
                return HttpResponseRedirect(f"{login}?{urlencode({'next': request.path})}")
            memberships = tuple(membership_list_for_user(user=user, municipality=municipality))
            if not memberships:
                raise PermissionDenied("not a member of this municipality")
            staff = StaffContext(user, municipality, memberships, client_ip(request))
            if wanted is not None and not staff.has_role(wanted):
                raise PermissionDenied("role not allowed")
            request.staff = staff  # type: ignore[attr-defined]
            response = view(request, municipality, staff, *args, **kwargs)
            add_never_cache_headers(response)
            return response

        return wrapped

    return decorator
