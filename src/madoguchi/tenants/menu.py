"""Menu entry of the municipality's settings page (municipality-wide admins)."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _

from madoguchi.accounts.permissions import StaffContext
from madoguchi.core.menus import StaffMenuEntry, register
from madoguchi.tenants.models import Role


def _admin(staff: StaffContext) -> bool:
    # As settings_views: staff_view(roles=[Role.ADMIN]) counts municipality-wide admins.
    return staff.has_role([Role.ADMIN])


register(
    StaffMenuEntry(
        key="tenants-settings",
        label=_("自治体の設定（名称・連絡先）"),
        url_name="settings:home",
        allowed=_admin,
        section="admin",
        order=10,
    ),
)
