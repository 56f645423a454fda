"""Menu entry of the single sign-on settings (municipality-wide admins, as the page checks)."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _

from madoguchi.accounts.permissions import StaffContext
from madoguchi.core.menus import StaffMenuEntry, register
from madoguchi.tenants.models import Role


def _admin(staff: StaffContext) -> bool:
    return staff.has_role([Role.ADMIN])


register(
    StaffMenuEntry(
        key="sso-settings",
        label=_("シングルサインオンの設定"),
        url_name="sso:settings",
        allowed=_admin,
        section="admin",
        order=60,
    ),
)
