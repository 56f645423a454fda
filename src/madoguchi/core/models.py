"""Shared tables of the platform that belong to no domain."""

from __future__ import annotations

from django.db import models


class RateLimitCounter(models.Model):
    """Hits of one key in one fixed window, shared by every app server through the database."""

    key = models.CharField(max_length=200)
    window = models.BigIntegerField(help_text="window start as a Unix time")
    count = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["key", "window"], name="ratelimit_key_window_unique")
        ]
        indexes = [models.Index(fields=["window"], name="ratelimit_window_idx")]

    def __str__(self) -> str:
        return f"{self.key}@{self.window}={self.count}"


class EffectOnce(models.Model):
    """An effect outside the database (an e-mail) that must happen once, however often a task
    carrying it runs; see ``madoguchi.core.once``."""

    key = models.CharField(max_length=200, unique=True)
    done_at = models.DateTimeField()

    def __str__(self) -> str:
        return self.key
