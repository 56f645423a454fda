"""Menu entry of reports: the department's queue of reports."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _

from madoguchi.accounts.permissions import StaffContext
from madoguchi.core.menus import StaffMenuEntry, register


def _member(staff: StaffContext) -> bool:
    return bool(staff.memberships)


register(
    StaffMenuEntry(
        key="reports-queue",
        label=_("まちの困りごと通報"),
        url_name="reports_staff:queue",
        allowed=_member,
        order=70,
    ),
)
