"""Menu entries of reservations: the day's bookings and the usage report."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _

from madoguchi.accounts.permissions import StaffContext
from madoguchi.core.menus import StaffMenuEntry, register
from madoguchi.reservations.console import EVERY_ROLE, resources_for


def _any_resource(staff: StaffContext) -> bool:
    return bool(resources_for(staff, EVERY_ROLE))


def _admin(staff: StaffContext) -> bool:
    return staff.is_admin


register(
    StaffMenuEntry(
        key="reservations-resources",
        label=_("予約の設定（窓口・会場と週間の予定）"),
        url_name="reservations_staff:resources",
        allowed=_admin,
        section="admin",
        order=46,
    ),
    StaffMenuEntry(
        key="reservations-closed",
        label=_("予約の休みの日"),
        url_name="reservations_staff:closed",
        allowed=_admin,
        section="admin",
        order=47,
    ),
    StaffMenuEntry(
        key="reservations-home",
        label=_("予約の受付"),
        url_name="reservations_staff:home",
        allowed=_any_resource,
        order=60,
    ),
    StaffMenuEntry(
        key="reservations-report",
        label=_("予約の利用状況"),
        url_name="reservations_staff:report",
        allowed=_any_resource,
        order=61,
    ),
)
