"""The scopes an API client can hold, and the staff role each set of scopes acts with."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _

from madoguchi.tenants.models import Role

__all__ = ["HEALTH_CENTRE_SCOPES", "Scope", "role_for_scopes"]


class Scope(models.TextChoices):
    APPLICATIONS_READ = "applications:read", _("申請を読む（回答・添付を含む）")
    APPLICATIONS_TRANSITION = (
        "applications:transition",
        _("申請の状態を変える・メモを書く（一括変更を含む）"),
    )
    WEBHOOKS_MANAGE = "webhooks:manage", _("変更の通知（Webhook）を購読する")
    CASES_READ = "cases:read", _("保健所：患者（感染症の症例）を読む")
    CASES_WRITE = "cases:write", _("保健所：患者の健康観察の状況・療養先を更新する")
    NOTIFICATIONS_WRITE = "notifications:write", _("保健所：医療機関の発生届を受け付ける")
    SELFREPORTS_READ = "selfreports:read", _("保健所：患者の毎日の体調報告を読む")
    PAYMENTS_EXPORT = "payments:export", _("給付金の振込データ（全銀）を作成・取得する")
    CONSULTATIONS_READ = "consultations:read", _("職員に引き継がれた相談を読む")
    CONSULTATIONS_WRITE = "consultations:write", _("引き継がれた相談に返信する・終了する")
    OPENDATA_READ = "opendata:read", _("オープンデータのファイルを取得する")
    OPENDATA_WRITE = "opendata:write", _("オープンデータの CSV を取り込む")


# Scopes over the infectious-disease case register: only a body that runs a health centre
# (a prefecture, a designated or core city) holds cases, so only its clients may hold these.
HEALTH_CENTRE_SCOPES = frozenset(
    {Scope.CASES_READ, Scope.CASES_WRITE, Scope.NOTIFICATIONS_WRITE, Scope.SELFREPORTS_READ}
)


def role_for_scopes(scopes: set[str]) -> Role:
    """The municipality-wide role the workflow rules see for a client with ``scopes``.

    The rules are written for staff roles: a client that may move applications or export
    transfer files acts as a supervisor (who may also move many at once, and is the one who
    exports transfers in the console), any other as a viewer. The scope each operation needs
    is checked first. The case register's operations are authorised by their scopes alone
    (``api.linkage.cases``); the consultations inbox decides its own role from the
    consultation scopes alone (``api.linkage.consultations``).
    """
    if Scope.APPLICATIONS_TRANSITION in scopes or Scope.PAYMENTS_EXPORT in scopes:
        return Role.SUPERVISOR
    return Role.VIEWER
