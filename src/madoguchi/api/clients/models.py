"""API clients: who another system is, what it may do, and how it proves it."""

from __future__ import annotations

import datetime

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

__all__ = ["ApiAccessToken", "ApiClient", "ApiClientSecret"]


class ApiClient(models.Model):
    """Another system of one municipality (基幹系, a call centre, ...) using the API."""

    municipality = models.ForeignKey(
        "tenants.Municipality", on_delete=models.CASCADE, related_name="api_clients"
    )
    name = models.CharField(_("名前"), max_length=100)
    client_id = models.CharField(max_length=40, unique=True)
    scopes = models.JSONField(default=list)
    # The account the client acts as in services and the audit log (never signs in).
    service_user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="api_client"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    created_by_label = models.CharField(max_length=150, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    last_used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("API クライアント")
        verbose_name_plural = _("API クライアント")
        constraints = [
            models.UniqueConstraint(fields=["municipality", "name"], name="api_client_unique_name")
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def is_revoked(self) -> bool:
        return self.revoked_at is not None


class ApiClientSecret(models.Model):
    """A client secret, stored as a SHA-256 hash; an old one expires after the overlap."""

    client = models.ForeignKey(ApiClient, on_delete=models.CASCADE, related_name="secrets")
    secret_hash = models.CharField(max_length=64, unique=True)
    hint = models.CharField(max_length=8)  # the last characters, to tell secrets apart
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"…{self.hint}"

    def is_valid(self, now: datetime.datetime | None = None) -> bool:
        return self.expires_at is None or self.expires_at > (now or timezone.now())


class ApiAccessToken(models.Model):
    """A short-lived bearer token issued at the token endpoint, stored as a SHA-256 hash."""

    client = models.ForeignKey(ApiClient, on_delete=models.CASCADE, related_name="tokens")
    token_hash = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField(db_index=True)

    def __str__(self) -> str:
        return f"token of {self.client_id} until {self.expires_at:%Y-%m-%d %H:%M}"
