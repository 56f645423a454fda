"""Message templates and sends to a segment (topics x areas x language)."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from madoguchi.messaging.models.subscriptions import Area, Topic
from madoguchi.tenants.models import Municipality


class Template(models.Model):
    """A message with {name}-style variables, in Japanese and (optionally) English."""

    municipality = models.ForeignKey(Municipality, on_delete=models.CASCADE, related_name="+")
    name = models.CharField(_("テンプレート名"), max_length=80)
    topic = models.ForeignKey(Topic, on_delete=models.PROTECT, related_name="+")
    subject_ja = models.CharField(_("件名"), max_length=120)
    body_ja = models.TextField(_("本文"))
    subject_en = models.CharField(_("件名（英語）"), max_length=120, blank=True)
    body_en = models.TextField(_("本文（英語）"), blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name", "pk"]

    def __str__(self) -> str:
        return self.name

    @property
    def urgent(self) -> bool:
        return self.topic.urgent


class SendState(models.TextChoices):
    AWAITING_APPROVAL = "awaiting_approval", _("承認待ち")
    SCHEDULED = "scheduled", _("送信予定")
    HELD = "held", _("配信を控える時間のため保留中")
    SENDING = "sending", _("送信中")
    DONE = "done", _("送信済み")
    CANCELLED = "cancelled", _("取り消し")


class Send(models.Model):
    """One message to a segment; its deliveries are the log per recipient."""

    municipality = models.ForeignKey(Municipality, on_delete=models.CASCADE, related_name="+")
    template = models.ForeignKey(Template, on_delete=models.PROTECT, related_name="+")
    topics = models.ManyToManyField(Topic, related_name="+")
    # No area chosen: every area, and residents who chose none.
    areas = models.ManyToManyField(Area, blank=True, related_name="+")
    languages = models.CharField(max_length=20, default="ja,en")  # comma-separated codes
    urgent = models.BooleanField(default=False)
    state = models.CharField(max_length=20, choices=SendState.choices)
    scheduled_at = models.DateTimeField(null=True, blank=True)
    recipient_count = models.PositiveIntegerField(default=0)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    approved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]

    def __str__(self) -> str:
        return f"send {self.pk}"

    @property
    def language_list(self) -> list[str]:
        return [code for code in self.languages.split(",") if code]
