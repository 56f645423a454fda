"""The platform's own menu entry: the operators' Django admin site."""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.utils.translation import gettext_lazy as _

from madoguchi.core.menus import PlatformMenuEntry, register

if TYPE_CHECKING:
    from madoguchi.accounts.models import User


def _operator(user: User) -> bool:
    # The same rule as MadoguchiAdminSite.has_permission (the second factor is checked there).
    return bool(user.is_active and user.is_staff and user.is_superuser)


register(
    PlatformMenuEntry(
        key="django-admin",
        label=_("運用管理サイト"),
        url_name="admin:index",
        allowed=_operator,
        order=90,
    ),
)
