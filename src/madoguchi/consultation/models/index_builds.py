"""A rebuild of a municipality's search index started from the admin console."""

from __future__ import annotations

from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from madoguchi.tenants.models import Municipality


class IndexBuildState(models.TextChoices):
    QUEUED = "queued", _("開始待ち")
    RUNNING = "running", _("実行中")
    DONE = "done", _("完了")
    FAILED = "failed", _("失敗")


class IndexBuild(models.Model):
    """One rebuild: its progress in texts embedded, polled by the FAQ index page.

    At most one unfinished build per municipality (a database constraint), so a second start
    while one runs is refused even when two admins press the button at the same moment.
    """

    municipality = models.ForeignKey(Municipality, on_delete=models.CASCADE, related_name="+")
    state = models.CharField(
        max_length=10, choices=IndexBuildState.choices, default=IndexBuildState.QUEUED
    )
    total = models.PositiveIntegerField(default=0, help_text="texts to embed (or index)")
    done = models.PositiveIntegerField(default=0)
    # The knowledge base's version the finished index holds; a later edit makes it stale.
    knowledge_version = models.PositiveBigIntegerField(null=True, blank=True)
    entries = models.PositiveIntegerField(default=0)
    mode = models.CharField(max_length=10, blank=True)  # "hybrid" or "lexical"
    requested_by = models.CharField(max_length=150, blank=True)
    error = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["municipality"],
                condition=Q(state__in=["queued", "running"]),
                name="index_build_one_unfinished",
            )
        ]
        indexes = [models.Index(fields=["municipality", "-created_at"], name="index_build_recent")]

    def __str__(self) -> str:
        return f"{self.municipality_id} {self.state} {self.done}/{self.total}"

    @property
    def unfinished(self) -> bool:
        return self.state in {IndexBuildState.QUEUED, IndexBuildState.RUNNING}

    @property
    def percent(self) -> int:
        return 100 if not self.total else min(100, self.done * 100 // self.total)
