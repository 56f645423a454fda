"""Menu entries of surveillance: the clinic's 発生届 pages and the health centre's case pages.

Each ``allowed`` asks the same selectors as :func:`madoguchi.surveillance.access.clinic_view`
and :func:`madoguchi.surveillance.access.centre_view`.
"""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _

from madoguchi.accounts.permissions import StaffContext
from madoguchi.core.menus import StaffMenuEntry, register
from madoguchi.surveillance import selectors


def _clinic(staff: StaffContext) -> bool:
    return (
        selectors.clinic_for_user(municipality=staff.municipality, user_id=staff.user.pk)
        is not None
    )


def _centre_staff(staff: StaffContext) -> bool:
    wide = any(m.department_id is None for m in staff.memberships)
    return selectors.is_centre_member(
        municipality=staff.municipality,
        user_id=staff.user.pk,
        departments=None if wide else staff.departments,
    )


register(
    StaffMenuEntry(
        key="clinic-home",
        label=_("発生届の提出"),
        url_name="surveillance:clinic-home",
        allowed=_clinic,
        section="clinic",
        order=10,
    ),
    StaffMenuEntry(
        key="clinic-csv",
        label=_("発生届をCSVでまとめて提出"),
        url_name="surveillance:notification-csv",
        allowed=_clinic,
        section="clinic",
        order=20,
    ),
    StaffMenuEntry(
        key="clinic-age-band-counts",
        label=_("年代別の患者数の報告"),
        url_name="surveillance:age-band-counts",
        allowed=_clinic,
        section="clinic",
        order=30,
    ),
    StaffMenuEntry(
        key="centre-cases",
        label=_("患者一覧"),
        url_name="surveillance:cases",
        allowed=_centre_staff,
        section="health",
        order=10,
    ),
    StaffMenuEntry(
        key="centre-worklist",
        label=_("健康観察の対応リスト"),
        url_name="surveillance:worklist",
        allowed=_centre_staff,
        section="health",
        order=20,
    ),
    StaffMenuEntry(
        key="centre-counts",
        label=_("年代別の新規患者数"),
        url_name="surveillance:counts",
        allowed=_centre_staff,
        section="health",
        order=30,
    ),
)
