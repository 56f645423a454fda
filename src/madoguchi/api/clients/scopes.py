"""The scopes an API client can hold, and the staff role each set of scopes acts with."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _

from madoguchi.tenants.models import Role

__all__ = ["Scope", "role_for_scopes"]


class Scope(models.TextChoices):
    APPLICATIONS_READ = "applications:read", _("申請を読む（回答・添付を含む）")
    APPLICATIONS_TRANSITION = (
        "applications:transition",
        _("申請の状態を変える・メモを書く（一括変更を含む）"),
    )
    WEBHOOKS_MANAGE = "webhooks:manage", _("変更の通知（Webhook）を購読する")


def role_for_scopes(scopes: set[str]) -> Role:
    """The municipality-wide role the workflow rules see for a client with ``scopes``.

    The workflow's rules are written for staff roles; a client that may move applications
    acts as a supervisor (who may also move many at once), any other as a viewer.
    """
    if Scope.APPLICATIONS_TRANSITION in scopes:
        return Role.SUPERVISOR
    return Role.VIEWER
