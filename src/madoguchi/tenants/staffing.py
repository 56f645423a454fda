"""A municipality admin's changes to departments and to the roles of its staff."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from madoguchi.audit.services import AuditActor, audit_event
from madoguchi.tenants.errors import TenantError, TenantErrorCode
from madoguchi.tenants.models import Department, Membership, Municipality, Role

if TYPE_CHECKING:
    from madoguchi.accounts.models import User

__all__ = [
    "admin_is_last",
    "department_create",
    "department_rename",
    "department_retire",
    "last_admin_error",
    "membership_set",
    "memberships_set",
]


def _clean_name(name: str) -> str:
    name = " ".join(name.split())
    if not name:
        raise TenantError(
            TenantErrorCode.NAME_REQUIRED, _("部署名を入力してください。"), field="name"
        )
    return name


@transaction.atomic
def department_create(
    *, municipality: Municipality, code: str, name: str, actor: AuditActor
) -> Department:
    """A new department; its code (used in URLs and definitions) is unique in the municipality."""
    name = _clean_name(name)
    if Department.objects.filter(municipality=municipality, code=code).exists():
        raise TenantError(
            TenantErrorCode.DEPARTMENT_CODE_TAKEN,
            _("部署コード「%(code)s」はすでに使われています（廃止した部署を含みます）。")
            % {"code": code},
            field="code",
        )
    department = Department.objects.create(municipality=municipality, code=code, name=name)
    audit_event(
        municipality=municipality,
        action="department.create",
        actor=actor,
        obj=department,
        data={"code": code, "name": name},
    )
    return department


@transaction.atomic
def department_rename(*, department: Department, name: str, actor: AuditActor) -> Department:
    name = _clean_name(name)
    department = Department.objects.select_for_update().get(pk=department.pk)
    if department.name != name:
        old = department.name
        department.name = name
        department.save(update_fields=["name"])
        audit_event(
            municipality=department.municipality,
            action="department.rename",
            actor=actor,
            obj=department,
            data={"from": old, "to": name},
        )
    return department


@transaction.atomic
def department_retire(
    *, department: Department, open_work: Mapping[str, int], actor: AuditActor
) -> Department:
    """Retire the department (the row stays) once nothing is open in it.

    ``open_work`` counts what each domain still has open there (applications, hand-overs,
    cases); the caller asks the domains, since this app imports none of them.
    """
    department = Department.objects.select_for_update().get(pk=department.pk)
    if department.is_retired:
        raise TenantError(
            TenantErrorCode.DEPARTMENT_RETIRED, _("この部署はすでに廃止されています。")
        )
    if any(count > 0 for count in open_work.values()):
        raise TenantError(
            TenantErrorCode.DEPARTMENT_HAS_OPEN_WORK,
            _(
                "この部署には未完了の案件があります。完了させるか、ほかの部署に移してから廃止してください。"
            ),
        )
    department.retired_at = timezone.now()
    department.save(update_fields=["retired_at"])
    audit_event(
        municipality=department.municipality,
        action="department.retire",
        actor=actor,
        obj=department,
        data={"code": department.code},
    )
    return department


def _active_admins(municipality: Municipality) -> list[int]:
    """User ids of the municipality-wide admins whose accounts are active (rows locked)."""
    rows = Membership.objects.select_for_update().filter(
        municipality=municipality,
        department__isnull=True,
        role=Role.ADMIN,
        user__is_active=True,
    )
    return [m.user_id for m in rows]


def admin_is_last(*, municipality: Municipality, user: User) -> bool:
    """Whether ``user`` is the municipality's only active admin (call inside a transaction)."""
    return _active_admins(municipality) == [user.pk]


def _refuse_last_admin() -> TenantError:
    return TenantError(
        TenantErrorCode.LAST_ADMIN,
        _(
            "この職員は、この自治体でただ一人の管理者です。先にほかの職員を管理者にしてから"
            "変更してください。"
        ),
    )


@transaction.atomic
def membership_set(
    *,
    municipality: Municipality,
    user: User,
    department: Department | None,
    role: Role | None,
    actor: AuditActor,
) -> Membership | None:
    """Set ``user``'s role in the municipality (department None) or one department; None removes.

    Taking the admin role from the municipality's last active admin is refused.
    """
    if department is not None and department.municipality_id != municipality.pk:
        raise TenantError(
            TenantErrorCode.OTHER_MUNICIPALITY, _("ほかの自治体の部署は指定できません。")
        )
    current = Membership.objects.filter(
        user=user, municipality=municipality, department=department
    ).first()
    if current is None and role is None:
        return None
    if current is not None and current.role == role:
        return current
    if (
        department is None
        and current is not None
        and current.role == Role.ADMIN
        and admin_is_last(municipality=municipality, user=user)
    ):
        raise _refuse_last_admin()
    data = {
        "user": user.get_username(),
        "department": department.code if department else None,
        "from": current.role if current else None,
        "to": str(role) if role else None,
    }
    if role is None:
        assert current is not None  # no role and none wanted returned above
        current.delete()
        result = None
    elif current is None:
        result = Membership.objects.create(
            user=user, municipality=municipality, department=department, role=role
        )
    else:
        current.role = role
        current.save(update_fields=["role"])
        result = current
    audit_event(
        municipality=municipality, action="membership.set", actor=actor, obj=user, data=data
    )
    return result


def last_admin_error() -> TenantError:
    """The refusal shown when a change would leave the municipality without an admin."""
    return _refuse_last_admin()


@transaction.atomic
def memberships_set(
    *,
    municipality: Municipality,
    user: User,
    wanted: list[tuple[Department | None, Role | None]],
    actor: AuditActor,
) -> None:
    """Apply several role changes of one user together: all of them, or (on refusal) none."""
    for department, role in wanted:
        membership_set(
            municipality=municipality, user=user, department=department, role=role, actor=actor
        )
