"""A municipality's LINE official account and the webhook events already handled."""

from __future__ import annotations

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
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"LINE {self.municipality_id}"


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
