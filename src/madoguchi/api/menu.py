"""Menu entry of the API clients' page in the municipality admin's menu."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _

from madoguchi.accounts.permissions import StaffContext
from madoguchi.core.menus import StaffMenuEntry, register


def _admin(staff: StaffContext) -> bool:
    return staff.is_admin


register(
    StaffMenuEntry(
        key="api-clients",
        label=_("API クライアント（外部システム連携）"),
        url_name="api-clients:index",
        allowed=_admin,
        section="admin",
        order=40,
    ),
)
