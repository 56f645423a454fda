"""Reading a municipality's single sign-on settings."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from django.db.models import QuerySet
from django.utils.translation import gettext as _

from madoguchi.sso.models import SsoConfig, SsoIdentity, SsoRoleMapping
from madoguchi.tenants.models import Municipality

if TYPE_CHECKING:
    from madoguchi.accounts.models import User

__all__ = [
    "SsoLoginOption",
    "sso_config_enabled",
    "sso_config_get",
    "sso_login_option",
    "sso_mapping_list",
    "sso_session_acceptable",
    "sso_signed_in_here",
]


@dataclass(frozen=True, slots=True)
class SsoLoginOption:
    """What the staff sign-in page shows: the button's text and whether passwords are off."""

    label: str
    password_disabled: bool


def sso_config_get(*, municipality: Municipality) -> SsoConfig | None:
    return SsoConfig.objects.filter(municipality=municipality).first()


def sso_config_enabled(*, municipality: Municipality) -> SsoConfig | None:
    """The configuration when sign-in through the provider is switched on, else None."""
    return SsoConfig.objects.filter(municipality=municipality, enabled=True).first()


def sso_login_option(*, municipality: Municipality | None) -> SsoLoginOption | None:
    if municipality is None:  # the platform sign-in is password + TOTP only (break-glass)
        return None
    config = sso_config_enabled(municipality=municipality)
    if config is None:
        return None
    label = config.label or _("%(name)sのアカウント") % {"name": municipality.name}
    return SsoLoginOption(label=label, password_disabled=config.require_sso)


def sso_mapping_list(*, municipality: Municipality) -> QuerySet[SsoRoleMapping]:
    return SsoRoleMapping.objects.filter(config__municipality=municipality).select_related(
        "department"
    )


def sso_signed_in_here(*, user: User, municipality: Municipality) -> bool:
    """True when the user's current session was signed in through this municipality's provider."""
    device = getattr(user, "otp_device", None)
    return isinstance(device, SsoIdentity) and device.municipality_id == municipality.pk


def sso_session_acceptable(*, user: User, municipality: Municipality) -> bool:
    """Whether a verified session may open this municipality's staff pages.

    When the municipality requires single sign-on, only sessions signed in through its
    provider are, plus platform operators' (superusers': the documented break-glass).
    """
    if user.is_superuser or sso_signed_in_here(user=user, municipality=municipality):
        return True
    return not SsoConfig.objects.filter(
        municipality=municipality, enabled=True, require_sso=True
    ).exists()
