"""Menu entries of reservations: the day's bookings, the usage report, the admin's setup, and
the residents' booking service on the top page."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _

from madoguchi.accounts.permissions import StaffContext
from madoguchi.core.menus import PublicServiceEntry, StaffMenuEntry, register
from madoguchi.reservations.console import EVERY_ROLE, resources_for
from madoguchi.reservations.models import Resource
from madoguchi.tenants.models import Municipality


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


def _has_resources(municipality: Municipality) -> bool:
    return Resource.objects.filter(municipality=municipality, active=True).exists()


register(
    PublicServiceEntry(
        key="reservations",
        label=_("窓口・施設の予約"),
        description=_("窓口や接種会場、施設の空いている時間を選んで、アカウントなしで予約できます"),
        url_name="reservations:resources",
        enabled=_has_resources,
        order=65,
    ),
)
