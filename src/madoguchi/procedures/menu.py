"""Menu entries of the procedures app: the clerks' console and the residents' services."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _

from madoguchi.accounts.permissions import StaffContext
from madoguchi.core.menus import PublicServiceEntry, StaffMenuEntry, register
from madoguchi.procedures import selectors
from madoguchi.procedures.console import may_export_transfers, may_work_applications
from madoguchi.tenants.models import Municipality


def _has_published_procedures(municipality: Municipality) -> bool:
    return selectors.procedure_list_published(municipality=municipality).exists()


def _admin(staff: StaffContext) -> bool:
    # As procedures.catalogue_admin: admins of the whole municipality decide the catalogue.
    return staff.is_admin


register(
    StaffMenuEntry(
        key="procedures-admin",
        label=_("手続きの管理（定義・公開）"),
        url_name="console-procedures:catalogue",
        allowed=_admin,
        section="admin",
        order=30,
    ),
    StaffMenuEntry(
        key="applications-queue",
        label=_("申請の処理"),
        url_name="console-applications:queue",
        allowed=may_work_applications,
        order=10,
        query="open=1",
    ),
    StaffMenuEntry(
        key="applications-summary",
        label=_("手続きごとの件数"),
        url_name="console-applications:summary",
        allowed=may_work_applications,
        order=20,
    ),
    StaffMenuEntry(
        key="applications-transfers",
        label=_("振込データの作成"),
        url_name="console-applications:export-transfers",
        allowed=may_export_transfers,
        order=30,
    ),
    PublicServiceEntry(
        key="procedures",
        label=_("手続きを探す・申請する"),
        description=_("オンラインで申請できる手続きの一覧です"),
        url_name="procedures:catalogue",
        enabled=_has_published_procedures,
        order=10,
    ),
    PublicServiceEntry(
        key="status",
        label=_("申請状況を確認する"),
        description=_("受付番号と確認コードで、いまの状況がわかります"),
        url_name="procedures:status",
        enabled=lambda m: selectors.status_lookup_open(municipality=m),
        order=20,
    ),
)
