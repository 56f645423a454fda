"""Municipalities (the tenants), their departments and staff memberships."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import RegexValidator
from django.db import models
from django.utils.translation import gettext_lazy as _

from madoguchi.core.checkdigits import CheckDigitError, validate_lgcode

# Top-level URL segments that a municipality slug must not shadow.
RESERVED_SLUGS = frozenset(
    {
        "admin",
        "api",
        "static",
        "media",
        "staff",
        "accounts",
        "healthz",
        "readyz",
        "favicon.ico",
        "i18n",
        "opendata",
        "operator",
    }
)


def validate_lgcode_field(value: str) -> None:
    try:
        validate_lgcode(value)
    except CheckDigitError as exc:
        raise ValidationError(str(exc), code=exc.code) from None


def validate_slug_not_reserved(value: str) -> None:
    if value in RESERVED_SLUGS:
        raise ValidationError(_("このURL名は予約されているため使えません。"), code="reserved_slug")


class Municipality(models.Model):
    """A local public body (地方公共団体): prefecture, city, ward, town or village."""

    code = models.CharField(
        _("全国地方公共団体コード"),
        max_length=6,
        unique=True,
        validators=[validate_lgcode_field],
        help_text=_("6桁（検査数字を含む）"),
    )
    name = models.CharField(_("名称"), max_length=50)
    name_kana = models.CharField(_("名称（カナ）"), max_length=100, blank=True)
    prefecture = models.ForeignKey(
        "self",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("都道府県"),
        help_text=_("都道府県自身の場合は空"),
    )
    parent = models.ForeignKey(
        "self",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="children",
        verbose_name=_("上位団体"),
        help_text=_("政令市の区なら市、郡の町村なら郡、市町村なら都道府県"),
    )
    slug = models.SlugField(
        _("URL名"), max_length=40, unique=True, validators=[validate_slug_not_reserved]
    )
    is_active = models.BooleanField(
        _("サービス提供中"), default=False, help_text=_("オンにするとトップページに表示されます")
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("自治体")
        verbose_name_plural = _("自治体")
        ordering = ["code"]

    def __str__(self) -> str:
        return f"{self.name}（{self.code}）"

    # Not a business rule: every process caches active municipalities by slug, and any write
    # must reach them all (``tenants.selectors.municipality_changed``).
    def save(self, *args: Any, **kwargs: Any) -> None:
        from madoguchi.tenants.selectors import municipality_changed

        super().save(*args, **kwargs)
        municipality_changed()

    def delete(self, *args: Any, **kwargs: Any) -> tuple[int, dict[str, int]]:
        from madoguchi.tenants.selectors import municipality_changed

        deleted = super().delete(*args, **kwargs)
        municipality_changed()
        return deleted

    @property
    def is_prefecture(self) -> bool:
        return self.code[2:5] == "000"

    @property
    def audit_chain_key(self) -> str:
        return self.code


class Department(models.Model):
    """A department (部署) of one municipality; queues and roles are per department."""

    municipality = models.ForeignKey(
        Municipality, on_delete=models.CASCADE, related_name="departments"
    )
    code = models.SlugField(_("部署コード"), max_length=40)
    name = models.CharField(_("部署名"), max_length=100)
    email = models.EmailField(_("連絡先メール"), blank=True)
    phone = models.CharField(_("電話番号"), max_length=20, blank=True)
    # A retired department keeps its row (applications, audit entries and cases name it) but
    # takes no new work and is not offered in choices.
    retired_at = models.DateTimeField(_("廃止日時"), null=True, blank=True)

    class Meta:
        verbose_name = _("部署")
        verbose_name_plural = _("部署")
        ordering = ["municipality", "code"]
        constraints = [
            models.UniqueConstraint(
                fields=["municipality", "code"], name="department_code_unique_per_municipality"
            )
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def is_retired(self) -> bool:
        return self.retired_at is not None


class MunicipalitySlugAlias(models.Model):
    """A URL name a municipality used before; requests to it are redirected to the current one."""

    slug = models.SlugField(max_length=40, unique=True)
    municipality = models.ForeignKey(
        Municipality, on_delete=models.CASCADE, related_name="slug_aliases"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("以前のURL名")
        verbose_name_plural = _("以前のURL名")

    def __str__(self) -> str:
        return f"{self.slug} -> {self.municipality_id}"


class Role(models.TextChoices):
    ADMIN = "admin", _("管理者")
    SUPERVISOR = "supervisor", _("監督者")
    CLERK = "clerk", _("担当者")
    VIEWER = "viewer", _("閲覧者")


class Membership(models.Model):
    """A staff user's role in one municipality, optionally limited to one department."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships"
    )
    municipality = models.ForeignKey(
        Municipality, on_delete=models.CASCADE, related_name="memberships"
    )
    department = models.ForeignKey(
        Department,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="memberships",
        help_text=_("空なら自治体全体"),
    )
    role = models.CharField(_("役割"), max_length=20, choices=Role.choices)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("職員の所属")
        verbose_name_plural = _("職員の所属")
        constraints = [
            models.UniqueConstraint(
                fields=["user", "municipality", "department"], name="membership_unique"
            ),
            models.UniqueConstraint(
                fields=["user", "municipality"],
                condition=models.Q(department__isnull=True),
                name="membership_unique_municipality_wide",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.user} @ {self.municipality_id}/{self.department_id}: {self.role}"


CONTACT_KEY_PATTERN = r"^[a-z][a-z0-9_]{1,39}$"


class ContactPurpose(models.TextChoices):
    """Contact points that pages of the platform look up by key (others may be added freely)."""

    URGENT_HEALTH = "urgent_health", _("体調急変時の連絡先（保健所）")
    FEVER_CONSULTATION = "fever_consultation", _("発熱等受診・相談センター")
    SODAI_GOMI = "sodai_gomi", _("粗大ごみ受付センター")
    BENEFIT_CALL_CENTRE = "benefit_call_centre", _("給付金コールセンター")
    MAIN = "main", _("代表電話")


class ContactPoint(models.Model):
    """A named contact of a municipality (phone, hours, e-mail, web page), kept in one place.

    Pages, e-mails, FAQ answers and scenarios name it by ``key`` (``{contact:sodai_gomi}``)
    instead of repeating a number; see :mod:`madoguchi.tenants.contacts`.
    """

    municipality = models.ForeignKey(
        Municipality, on_delete=models.CASCADE, related_name="contact_points"
    )
    key = models.CharField(
        _("キー"),
        max_length=40,
        validators=[
            RegexValidator(
                CONTACT_KEY_PATTERN,
                _(
                    "キーは sodai_gomi のように、半角英小文字で始まる英小文字・数字・_ "
                    "で入力してください。"
                ),
                code="contact_key",
            )
        ],
        help_text=_("ページやFAQの本文で {contact:キー} と書くと、この連絡先に置き換わります"),
    )
    name = models.CharField(_("名称"), max_length=100)
    phone = models.CharField(_("電話番号"), max_length=20, blank=True)
    hours = models.CharField(_("受付時間"), max_length=100, blank=True)
    email = models.EmailField(_("メールアドレス"), blank=True)
    url = models.URLField(_("ホームページ"), blank=True)
    department = models.ForeignKey(
        Department,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="contact_points",
        verbose_name=_("担当部署"),
    )
    note = models.CharField(
        _("注記"),
        max_length=100,
        blank=True,
        help_text=_("番号の横に表示します（例：デモ用の番号です）"),
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("連絡先")
        verbose_name_plural = _("連絡先")
        ordering = ["municipality", "key"]
        constraints = [
            models.UniqueConstraint(
                fields=["municipality", "key"], name="contact_point_key_unique_per_municipality"
            )
        ]

    def __str__(self) -> str:
        return f"{self.name}（{self.key}）"
