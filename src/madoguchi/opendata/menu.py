"""Menu entries of open data: the admin's import page and the public dashboard and catalogue."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _

from madoguchi.accounts.permissions import StaffContext
from madoguchi.core.menus import PublicServiceEntry, StaffMenuEntry, register
from madoguchi.opendata import selectors
from madoguchi.tenants.models import Municipality


def _municipality_admin(staff: StaffContext) -> bool:
    # The same rule as opendata.staff.staff_home: municipality-wide admins only.
    return staff.is_admin


def _has_data(municipality: Municipality) -> bool:
    return selectors.has_published_data(municipality=municipality)


register(
    StaffMenuEntry(
        key="opendata-staff",
        label=_("オープンデータの取り込みと公開"),
        url_name="opendata:staff",
        allowed=_municipality_admin,
        section="opendata",
        order=10,
    ),
    PublicServiceEntry(
        key="dashboard",
        label=_("ダッシュボード"),
        description=_("感染症の発生状況や手続きの件数をグラフと表で見られます"),
        url_name="opendata:dashboard",
        enabled=_has_data,
        order=50,
    ),
    PublicServiceEntry(
        key="opendata-catalogue",
        label=_("オープンデータ"),
        description=_("公開しているデータを CSV・JSON でダウンロードできます"),
        url_name="opendata:catalogue",
        enabled=_has_data,
        order=60,
    ),
)
