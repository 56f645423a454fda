"""Conversations with residents on the web or LINE, and their messages (personal data)."""

from __future__ import annotations

import uuid
from typing import Any

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from madoguchi.consultation.models.knowledge import FaqEntry
from madoguchi.core.fields import BlindIndexField, EncryptedTextField
from madoguchi.tenants.models import Department, Municipality


class Channel(models.TextChoices):
    WEB = "web", _("Webチャット")
    LINE = "line", _("LINE")


class ConversationState(models.TextChoices):
    BOT = "bot", _("自動応答")
    WAITING = "waiting", _("職員の対応待ち")
    ANSWERED = "answered", _("職員が回答済み")
    CLOSED = "closed", _("終了")


class Conversation(models.Model):
    """One resident's exchange with the assistant on one channel.

    The id is a random UUID: a web visitor holds it in the session, and nothing else names it.
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    municipality = models.ForeignKey(Municipality, on_delete=models.CASCADE, related_name="+")
    channel = models.CharField(max_length=10, choices=Channel.choices)
    line_user_id = EncryptedTextField(null=True, blank=True)
    line_user_key = BlindIndexField(source="line_user_id", purpose="consultation.line_user")
    state = models.CharField(
        max_length=10, choices=ConversationState.choices, default=ConversationState.BOT
    )
    department = models.ForeignKey(
        Department, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    scenario_code = models.CharField(max_length=60, blank=True)
    scenario_step = models.CharField(max_length=60, blank=True)
    handover_at = models.DateTimeField(null=True, blank=True)
    # When a staff member last opened the conversation, and when staff were last e-mailed
    # about it: together they decide whether a resident's new message sends a reminder.
    staff_seen_at = models.DateTimeField(null=True, blank=True)
    notified_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    last_message_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-last_message_at"]
        indexes = [
            models.Index(
                fields=["municipality", "state", "department"], name="conversation_inbox_idx"
            ),
            models.Index(fields=["last_message_at"], name="conversation_retention_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.channel}:{self.pk}"


class Sender(models.TextChoices):
    RESIDENT = "resident", _("住民")
    ASSISTANT = "assistant", _("アシスタント")
    STAFF = "staff", _("職員")


class Outcome(models.TextChoices):
    ANSWERED = "answered", _("回答")
    LOW_CONFIDENCE = "low_confidence", _("候補を提示")
    NO_MATCH = "no_match", _("該当なし")
    SCENARIO = "scenario", _("案内")
    HANDOVER = "handover", _("職員へ引継ぎ")
    STATUS = "status", _("申請状況")
    GREETING = "greeting", _("あいさつ")
    REFUSED = "refused", _("受付不可")


class Message(models.Model):
    """A message in a conversation; the text is personal data and stored encrypted."""

    conversation = models.ForeignKey(
        Conversation, on_delete=models.CASCADE, related_name="messages"
    )
    municipality = models.ForeignKey(Municipality, on_delete=models.CASCADE, related_name="+")
    sender = models.CharField(max_length=10, choices=Sender.choices)
    text = EncryptedTextField()
    outcome = models.CharField(max_length=20, choices=Outcome.choices, blank=True)
    entry = models.ForeignKey(
        FaqEntry, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    confidence = models.FloatField(null=True, blank=True)
    candidates: models.JSONField[list[int], list[int]] = models.JSONField(default=list, blank=True)
    # Buttons and links offered with an assistant message: {"actions": [[label, payload]],
    # "links": [[label, url]], "lead": an FAQ entry's direct answer}; labels come from FAQ and
    # scenarios, never from residents.
    extras: models.JSONField[dict[str, Any], dict[str, Any]] = models.JSONField(
        default=dict, blank=True
    )
    # HMAC of the question's content words: equal keys group the same unanswered question
    # without storing its words in the clear.
    group_key = models.CharField(max_length=64, blank=True, db_index=True)
    helpful = models.BooleanField(null=True, blank=True)
    # For a resident's question: the entry that turned out to answer it (the resident found the
    # answer helpful or picked it among the candidates, or staff assigned the question to it).
    # With ``entry`` and ``confidence`` it labels the question for calibrating the confidence.
    resolved_entry = models.ForeignKey(
        FaqEntry, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    reviewed_at = models.DateTimeField(null=True, blank=True)
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    delivery = models.CharField(max_length=10, blank=True)  # LINE push: sent / failed
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["conversation", "created_at", "pk"]
        indexes = [
            models.Index(fields=["municipality", "outcome", "reviewed_at"], name="message_loop_idx")
        ]

    def __str__(self) -> str:
        return f"{self.sender}@{self.conversation_id}"
