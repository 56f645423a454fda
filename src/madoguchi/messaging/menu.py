"""Menu entries of messaging: sends for staff who send, setup for admins, sign-up for residents."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _

from madoguchi.accounts.permissions import StaffContext
from madoguchi.core.menus import PublicServiceEntry, StaffMenuEntry, register
from madoguchi.messaging import selectors
from madoguchi.messaging.staff_views import may_send
from madoguchi.tenants.models import Municipality, Role


def _admin(staff: StaffContext) -> bool:
    return staff.has_role([Role.ADMIN])


def _offers_topics(municipality: Municipality) -> bool:
    return selectors.topic_list(municipality=municipality, active_only=True).exists()


register(
    StaffMenuEntry(
        key="messaging-sends",
        label=_("お知らせ配信"),
        url_name="messaging:staff-home",
        allowed=may_send,
        section="messaging",
        order=10,
    ),
    StaffMenuEntry(
        key="messaging-topics",
        label=_("配信の種類"),
        url_name="messaging:staff-topics",
        allowed=_admin,
        section="admin",
        order=50,
    ),
    StaffMenuEntry(
        key="messaging-areas",
        label=_("配信の地域"),
        url_name="messaging:staff-areas",
        allowed=_admin,
        section="admin",
        order=52,
    ),
    StaffMenuEntry(
        key="messaging-settings",
        label=_("配信の設定（時間帯・承認）"),
        url_name="messaging:staff-settings",
        allowed=_admin,
        section="admin",
        order=54,
    ),
    PublicServiceEntry(
        key="messaging",
        label=_("お知らせ配信の登録"),
        description=_("子育て・防災・ごみなど、知りたいお知らせをメールで受け取れます"),
        url_name="messaging:subscribe",
        enabled=_offers_topics,
        order=60,
    ),
)
