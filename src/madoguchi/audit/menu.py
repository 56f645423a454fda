"""Menu entry of the audit log (municipality-wide admins, as audit.views checks)."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _

from madoguchi.accounts.permissions import StaffContext
from madoguchi.core.menus import StaffMenuEntry, register
from madoguchi.tenants.models import Role


def _admin(staff: StaffContext) -> bool:
    return staff.has_role([Role.ADMIN])


register(
    StaffMenuEntry(
        key="audit-log",
        label=_("監査ログ"),
        url_name="audit:log",
        allowed=_admin,
        section="admin",
        order=90,
    ),
)
