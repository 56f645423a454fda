"""Menu entries of the consoles: the municipality's admin pages and the operators' console."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _

from madoguchi.accounts.permissions import StaffContext
from madoguchi.consoles.access import is_operator
from madoguchi.core.menus import PlatformMenuEntry, StaffMenuEntry, register


def _admin(staff: StaffContext) -> bool:
    # The same rule as consoles.admin_views: admins of the whole municipality.
    return staff.is_admin


register(
    StaffMenuEntry(
        key="consoles-departments",
        label=_("部署の管理"),
        url_name="console-admin:departments",
        allowed=_admin,
        section="admin",
        order=10,
    ),
    StaffMenuEntry(
        key="consoles-staff",
        label=_("職員の管理（招待・役割）"),
        url_name="console-admin:staff",
        allowed=_admin,
        section="admin",
        order=20,
    ),
    StaffMenuEntry(
        key="consoles-admin",
        label=_("管理メニュー"),
        url_name="console-admin:home",
        allowed=_admin,
        section="admin",
        order=5,
    ),
    PlatformMenuEntry(
        key="operator-console",
        label=_("運用コンソール（団体の一覧）"),
        url_name="operator:home",
        allowed=is_operator,
        order=10,
    ),
)
