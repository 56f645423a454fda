"""What a municipality offers (topics, areas, quiet hours) and who subscribed to what."""

from __future__ import annotations

import datetime

from django.db import models
from django.utils.translation import gettext_lazy as _

from madoguchi.core.crypto import blind_index
from madoguchi.core.fields import BlindIndexField, EncryptedTextField
from madoguchi.tenants.models import Municipality

ADDRESS_INDEX_PURPOSE = "messaging.subscriber_address"


def address_normalize(value: str) -> str:
    """E-mail addresses are matched without regard to case (LINE user ids are lower hex)."""
    return value.strip().lower()


def address_digest(value: str) -> str:
    """The lookup digest of an address, to find a subscriber without decrypting."""
    return blind_index(address_normalize(value), purpose=ADDRESS_INDEX_PURPOSE)


class Topic(models.Model):
    """A subject residents may choose to hear about (子育て, 防災, ごみ, イベント)."""

    municipality = models.ForeignKey(Municipality, on_delete=models.CASCADE, related_name="+")
    code = models.SlugField(_("コード"), max_length=40)
    name = models.CharField(_("名称"), max_length=50)
    name_en = models.CharField(_("名称（英語）"), max_length=80, blank=True)
    # Messages on an urgent topic (防災) are sent during quiet hours too.
    urgent = models.BooleanField(_("緊急（防災）"), default=False)
    is_active = models.BooleanField(_("受付中"), default=True)
    order = models.PositiveIntegerField(_("表示順"), default=100)

    class Meta:
        ordering = ["order", "code"]
        constraints = [
            models.UniqueConstraint(fields=["municipality", "code"], name="messaging_topic_code")
        ]

    def __str__(self) -> str:
        return self.name

    def label(self, language: str) -> str:
        return self.name_en if language == "en" and self.name_en else self.name


class Area(models.Model):
    """An area from the municipality's own list: 区, 校区 or 町丁目."""

    municipality = models.ForeignKey(Municipality, on_delete=models.CASCADE, related_name="+")
    code = models.SlugField(_("コード"), max_length=40)
    name = models.CharField(_("名称"), max_length=50)
    name_en = models.CharField(_("名称（英語）"), max_length=80, blank=True)
    order = models.PositiveIntegerField(_("表示順"), default=100)

    class Meta:
        ordering = ["order", "code"]
        constraints = [
            models.UniqueConstraint(fields=["municipality", "code"], name="messaging_area_code")
        ]

    def __str__(self) -> str:
        return self.name

    def label(self, language: str) -> str:
        return self.name_en if language == "en" and self.name_en else self.name


class MessagingSettings(models.Model):
    """Quiet hours and the send size above which a supervisor approves."""

    municipality = models.OneToOneField(Municipality, on_delete=models.CASCADE, related_name="+")
    quiet_start = models.TimeField(_("配信を控える時間（開始）"), default=datetime.time(21, 0))
    quiet_end = models.TimeField(_("配信を控える時間（終了）"), default=datetime.time(8, 0))
    approval_threshold = models.PositiveIntegerField(_("監督者の承認が必要な宛先数"), default=1000)

    def __str__(self) -> str:
        return f"messaging settings {self.municipality_id}"


class Channel(models.TextChoices):
    EMAIL = "email", _("メール")
    LINE = "line", _("LINE")


class Subscriber(models.Model):
    """One address on one channel: an e-mail address or a LINE user id.

    An e-mail subscriber receives nothing before ``confirmed_at`` (double opt-in). ``token``
    opens the resident's page of choices and unsubscribes in one step from every message.
    The address is personal data: stored encrypted, found and kept unique through its
    keyed digest (``address_digest``, the same for any case of an e-mail address).
    """

    municipality = models.ForeignKey(Municipality, on_delete=models.CASCADE, related_name="+")
    channel = models.CharField(max_length=10, choices=Channel.choices)
    address = EncryptedTextField()
    address_digest = BlindIndexField(
        source="address",
        normalizer="madoguchi.messaging.models.subscriptions.address_normalize",
        purpose=ADDRESS_INDEX_PURPOSE,
    )
    language = models.CharField(max_length=5, default="ja")
    area = models.ForeignKey(Area, null=True, blank=True, on_delete=models.SET_NULL)
    topics = models.ManyToManyField(Topic, blank=True, related_name="+")
    token = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)
    confirmed_at = models.DateTimeField(null=True, blank=True)
    unsubscribed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["municipality", "channel", "address_digest"],
                name="messaging_subscriber_once",
            )
        ]
        indexes = [models.Index(fields=["municipality", "channel", "confirmed_at"])]

    def __str__(self) -> str:
        return f"{self.channel}:{self.pk}"

    @property
    def is_active(self) -> bool:
        return self.confirmed_at is not None and self.unsubscribed_at is None
