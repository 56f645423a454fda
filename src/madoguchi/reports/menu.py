"""Menu entry of reports: the department's queue of reports."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _

from madoguchi.core.menus import StaffMenuEntry, register
from madoguchi.reports.console import reports_allowed

register(
    StaffMenuEntry(
        key="reports-queue",
        label=_("まちの困りごと通報"),
        url_name="reports_staff:queue",
        allowed=reports_allowed,
        order=70,
    ),
)
