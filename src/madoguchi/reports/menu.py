"""Menu entry of reports: the department's queue of reports."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _

from madoguchi.accounts.permissions import StaffContext
from madoguchi.core.menus import PublicServiceEntry, StaffMenuEntry, register
from madoguchi.reports.console import reports_allowed
from madoguchi.reports.models import ReportCategory
from madoguchi.tenants.models import Municipality


def _admin(staff: StaffContext) -> bool:
    return staff.is_admin


register(
    StaffMenuEntry(
        key="reports-queue",
        label=_("まちの困りごと通報"),
        url_name="reports_staff:queue",
        allowed=reports_allowed,
        order=70,
    ),
    StaffMenuEntry(
        key="reports-setup",
        label=_("通報の種類と地域"),
        url_name="reports_staff:setup",
        allowed=_admin,
        section="admin",
        order=45,
    ),
)


def _has_categories(municipality: Municipality) -> bool:
    return ReportCategory.objects.filter(municipality=municipality, active=True).exists()


register(
    PublicServiceEntry(
        key="reports",
        label=_("まちの困りごと通報"),
        description=_("道路・公園などの傷みを写真で知らせ、受付番号で対応状況を確かめられます"),
        url_name="reports:file",
        enabled=_has_categories,
        order=70,
    ),
)
