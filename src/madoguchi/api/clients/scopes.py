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


# Scopes over the infectious-disease case register: only a body that runs a health centre
# (a prefecture, a designated or core city) holds cases, so only its clients may hold these.
HEALTH_CENTRE_SCOPES = frozenset(
    {Scope.CASES_READ, Scope.CASES_WRITE, Scope.NOTIFICATIONS_WRITE, Scope.SELFREPORTS_READ}
)


def role_for_scopes(scopes: set[str]) -> Role:
    """The municipality-wide role the workflow rules see for a client with ``scopes``.

    The workflow's rules are written for staff roles; a client that may move applications
    acts as a supervisor (who may also move many at once), any other as a viewer. The case
    register's operations are authorised by their scopes alone (see ``linkage.cases``).
    """
    if Scope.APPLICATIONS_TRANSITION in scopes:
        return Role.SUPERVISOR
    return Role.VIEWER
