"""Staff single sign-on (OpenID Connect) per municipality.

A municipality names its identity provider (issuer, client id and an encrypted client secret)
and maps claim values (usually the IdP's groups or app roles) to roles in its departments.
"""

from __future__ import annotations

import datetime
from typing import ClassVar

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _
from django_otp.models import Device

from madoguchi.core.fields import EncryptedTextField
from madoguchi.tenants.models import Department, Membership, Municipality, Role

DEFAULT_SCOPES = "openid email profile"


class SignUpMode(models.TextChoices):
    INVITE_ONLY = "invite_only", _("招待した職員のみ")
    JUST_IN_TIME = "just_in_time", _("初回サインイン時にアカウントを作成")


class SsoConfig(models.Model):
    """One municipality's OpenID Connect provider for staff sign-in."""

    municipality = models.OneToOneField(
        Municipality, on_delete=models.CASCADE, related_name="+", verbose_name=_("自治体")
    )
    enabled = models.BooleanField(_("有効"), default=False)
    label = models.CharField(
        _("ボタンに表示する名前"),
        max_length=60,
        blank=True,
        help_text=_("例：神戸市職員アカウント（空なら「（自治体名）のアカウント」）"),
    )
    issuer = models.URLField(_("発行者（Issuer）URL"), max_length=300)
    client_id = models.CharField(_("クライアントID"), max_length=200)
    # Empty for a public client (PKCE only).
    client_secret = EncryptedTextField(_("クライアントシークレット"), blank=True, default="")
    scopes = models.CharField(_("スコープ"), max_length=300, default=DEFAULT_SCOPES)
    mode = models.CharField(
        _("アカウントの作り方"),
        max_length=20,
        choices=SignUpMode.choices,
        default=SignUpMode.INVITE_ONLY,
    )
    require_sso = models.BooleanField(
        _("職員のパスワードでのサインインを禁止する"),
        default=False,
        help_text=_("運用管理者（プラットフォーム管理者）はパスワードと確認コードで入れます"),
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("シングルサインオン設定")
        verbose_name_plural = _("シングルサインオン設定")

    def __str__(self) -> str:
        return f"SSO {self.municipality_id}: {self.issuer}"

    @property
    def scope_list(self) -> list[str]:
        scopes = self.scopes.split()
        return scopes if "openid" in scopes else ["openid", *scopes]


class SsoRoleMapping(models.Model):
    """A claim value (e.g. a group id) that gives a role in a department or the whole body."""

    config = models.ForeignKey(SsoConfig, on_delete=models.CASCADE, related_name="mappings")
    claim = models.CharField(_("クレーム名"), max_length=100, default="groups")
    value = models.CharField(_("値"), max_length=200)
    department = models.ForeignKey(
        Department,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("部署"),
        help_text=_("空なら自治体全体"),
    )
    role = models.CharField(_("役割"), max_length=20, choices=Role.choices)

    class Meta:
        verbose_name = _("役割の対応")
        verbose_name_plural = _("役割の対応")
        ordering = ["claim", "value", "department_id"]
        constraints = [
            models.UniqueConstraint(
                fields=["config", "claim", "value", "department"], name="sso_mapping_unique"
            ),
            models.UniqueConstraint(
                fields=["config", "claim", "value"],
                condition=models.Q(department__isnull=True),
                name="sso_mapping_unique_municipality_wide",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.claim}={self.value} -> {self.department_id}/{self.role}"


class SsoIdentity(Device):
    """A staff user's account at a municipality's provider (issuer + subject).

    It is also the django-otp device of a session signed in through the provider: the
    provider enforces its own multi-factor sign-in, so ``otp_login`` with this device makes
    ``request.user.is_verified()`` true. It never accepts a typed token.
    """

    # django-otp is untyped, so the fields of its subclass are annotated by hand.
    objects: ClassVar[models.Manager[SsoIdentity]]
    _default_manager: ClassVar[models.Manager[SsoIdentity]]
    municipality: models.ForeignKey[Municipality, Municipality] = models.ForeignKey(
        Municipality, on_delete=models.CASCADE, related_name="+"
    )
    issuer: models.CharField[str, str] = models.CharField(max_length=300)
    subject: models.CharField[str, str] = models.CharField(max_length=255)
    last_login_at: models.DateTimeField[datetime.datetime | None, datetime.datetime | None] = (
        models.DateTimeField(null=True, blank=True)
    )

    class Meta:
        verbose_name = _("外部アカウント")
        verbose_name_plural = _("外部アカウント")
        constraints = [
            models.UniqueConstraint(
                fields=["municipality", "issuer", "subject"], name="sso_identity_unique"
            ),
            models.UniqueConstraint(
                fields=["municipality", "user"], name="sso_identity_one_per_user"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.issuer} {self.subject}"

    def verify_token(self, token: object) -> bool:
        return False


class SsoMembership(models.Model):
    """Marks a membership as granted by the provider's claims, to be replaced at each sign-in.

    Memberships without this mark were granted by an admin and are left alone by sign-ins.
    """

    membership = models.OneToOneField(
        Membership, on_delete=models.CASCADE, related_name="+", primary_key=True
    )
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    municipality = models.ForeignKey(Municipality, on_delete=models.CASCADE, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"SSO membership {self.membership_id}"
