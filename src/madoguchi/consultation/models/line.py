"""A municipality's LINE official account and the webhook events already handled."""

from __future__ import annotations

from urllib.parse import quote

from django.core.validators import RegexValidator
from django.db import models
from django.utils.translation import gettext_lazy as _

from madoguchi.core.fields import EncryptedTextField
from madoguchi.tenants.models import Municipality


class LineChannel(models.Model):
    """The Messaging API channel of one municipality; secret and token are stored encrypted."""

    municipality = models.OneToOneField(Municipality, on_delete=models.CASCADE, related_name="+")
    channel_secret = EncryptedTextField(_("チャネルシークレット"))
    access_token = EncryptedTextField(_("チャネルアクセストークン"))
    is_active = models.BooleanField(_("有効"), default=True)
    # The account's ID for residents (ベーシックID "@123abcde" or a premium ID): the friend link
    # and its QR code on the municipality's top page. Empty: no friend link is shown.
    basic_id = models.CharField(
        _("ベーシックID"),
        max_length=21,
        blank=True,
        validators=[
            RegexValidator(
                r"^@[0-9a-z._-]{2,20}$",
                _("ベーシックIDは @123abcde のように、@ に続けて半角英数字で入力してください。"),
                code="basic_id",
            )
        ],
    )
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"LINE {self.municipality_id}"

    @property
    def friend_url(self) -> str:
        """LINE's add-friend link for the account, or "" without a basic ID."""
        return f"https://line.me/R/ti/p/{quote(self.basic_id)}" if self.basic_id else ""


class LineWebhookEvent(models.Model):
    """A webhookEventId seen once; a redelivery with the same id is not handled again."""

    municipality = models.ForeignKey(Municipality, on_delete=models.CASCADE, related_name="+")
    webhook_event_id = models.CharField(max_length=64)
    event_type = models.CharField(max_length=40)
    received_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["municipality", "webhook_event_id"], name="line_event_once"
            )
        ]

    def __str__(self) -> str:
        return self.webhook_event_id
