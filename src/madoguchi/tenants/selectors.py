"""Reading municipalities, departments and memberships."""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.db.models import QuerySet

from madoguchi.tenants.models import Department, Membership, Municipality, MunicipalitySlugAlias

if TYPE_CHECKING:
    from madoguchi.accounts.models import User

__all__ = [
    "department_list",
    "membership_list_for_user",
    "municipality_get_active",
    "municipality_get_by_code",
    "municipality_list_active",
    "municipality_slug_for_alias",
]


def municipality_get_active(*, slug: str) -> Municipality | None:
    """The served municipality at ``/<slug>/``, or None."""
    return (
        Municipality.objects.select_related("prefecture").filter(slug=slug, is_active=True).first()
    )


def municipality_get_by_code(*, code: str) -> Municipality | None:
    return Municipality.objects.filter(code=code).first()


def municipality_list_active() -> QuerySet[Municipality]:
    """Municipalities served by this deployment, in code order (prefecture by prefecture)."""
    return Municipality.objects.filter(is_active=True).select_related("prefecture").order_by("code")


def municipality_slug_for_alias(*, slug: str) -> str | None:
    """The current URL name of the body that used to be at ``/<slug>/``, or None."""
    alias = MunicipalitySlugAlias.objects.filter(slug=slug).select_related("municipality").first()
    return alias.municipality.slug if alias is not None else None


def department_list(
    *, municipality: Municipality, include_retired: bool = False
) -> QuerySet[Department]:
    """The municipality's departments; retired ones only when asked for."""
    departments = Department.objects.filter(municipality=municipality)
    if not include_retired:
        departments = departments.filter(retired_at__isnull=True)
    return departments.order_by("code")


def membership_list_for_user(*, user: User, municipality: Municipality) -> list[Membership]:
    """The user's memberships in this municipality (empty for anyone else's staff)."""
    return list(
        Membership.objects.filter(user=user, municipality=municipality).select_related("department")
    )
