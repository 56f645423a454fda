"""Notices: messages to one person that the product sends by itself, and their templates.

A receipt, a request for more information, a hand-over alert to staff, a self-report reminder:
each is one :class:`Notice` row (the delivery log of the notification path), sent through the
same channels as sends (SMTP, LINE) and retried with backoff through the task queue. The
recipient and the text are personal data (a receipt carries the lookup code), so they are
stored encrypted. A municipality may replace the default wording of each kind with its own
:class:`NoticeTemplate`.
"""

from __future__ import annotations

import uuid

from django.db import models
from django.utils.translation import gettext_lazy as _

from madoguchi.core.fields import EncryptedJSONField, EncryptedTextField
from madoguchi.messaging.models.subscriptions import Channel
from madoguchi.tenants.models import Municipality


class NoticeState(models.TextChoices):
    QUEUED = "queued", _("待機中")
    SENDING = "sending", _("送信中")
    SENT = "sent", _("送信済み")
    FAILED = "failed", _("失敗")


class Notice(models.Model):
    """One message to one recipient, with its delivery state, attempts and failure reason."""

    municipality = models.ForeignKey(Municipality, on_delete=models.CASCADE, related_name="+")
    kind = models.CharField(max_length=40)
    channel = models.CharField(max_length=10, choices=Channel.choices)
    language = models.CharField(max_length=5, default="ja")
    recipient = EncryptedTextField()
    subject = EncryptedTextField(blank=True, default="")
    body = EncryptedTextField()
    # LINE only: quick-reply buttons, [[label, postback data], ...].
    actions = EncryptedJSONField(null=True, blank=True)
    # Makes a notice once per event (e.g. one state change, one reminder a day).
    dedupe_key = models.CharField(max_length=120, null=True, blank=True)  # noqa: DJ001 - NULL: none
    retry_key = models.UUIDField(default=uuid.uuid4)
    state = models.CharField(max_length=10, choices=NoticeState.choices, default=NoticeState.QUEUED)
    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField()
    claimed_until = models.DateTimeField(null=True, blank=True)
    reason = models.CharField(max_length=500, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["municipality", "dedupe_key"], name="messaging_notice_once"
            )
        ]
        indexes = [
            models.Index(fields=["state", "next_attempt_at"]),
            models.Index(fields=["municipality", "created_at"]),
        ]

    def __str__(self) -> str:
        return f"notice {self.pk}"


class NoticeTemplate(models.Model):
    """A municipality's own wording of one kind of notice; empty fields use the default."""

    municipality = models.ForeignKey(Municipality, on_delete=models.CASCADE, related_name="+")
    kind = models.CharField(max_length=40)
    subject_ja = models.CharField(_("件名"), max_length=200, blank=True)
    body_ja = models.TextField(_("本文"), blank=True)
    subject_en = models.CharField(_("件名（英語）"), max_length=200, blank=True)
    body_en = models.TextField(_("本文（英語）"), blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["municipality", "kind"], name="messaging_notice_template_kind"
            )
        ]

    def __str__(self) -> str:
        return f"{self.kind} ({self.municipality_id})"
