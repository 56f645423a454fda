"""The append-only, hash-chained audit log.

Each municipality has its own chain (``chain`` = its 6-digit code); actions outside any
municipality (operators' commands, platform sign-ins) go to the ``platform`` chain. Every
entry stores the hash of the one before it, keyed (HMAC-SHA256) with a key that lives outside
the database, so changing, removing or inserting a row with raw SQL breaks the chain and
``madoguchi audit verify`` names the first entry that does not match. Signed checkpoints kept
outside the database (``madoguchi audit checkpoint``) catch removals at the end of a chain.

Writers insert their entries *unsealed* (no sequence number, no hash) without touching the
chain head, so that writers of one municipality never wait on each other; the sealer
(``madoguchi.audit.sealing``) then gives a chain's committed unsealed entries their sequence
numbers in id order and their hashes, many per lock of the head. Sealing is the one update an
entry ever receives.
"""

from __future__ import annotations

from typing import Any, NoReturn

from django.db import models
from django.utils.translation import gettext_lazy as _

PLATFORM_CHAIN = "platform"


class AppendOnlyError(RuntimeError):
    """Audit entries are never updated or deleted through the ORM."""


class EntryKind(models.TextChoices):
    EVENT = "event", _("操作")
    ACCESS = "access", _("閲覧")


class AuditEntryQuerySet(models.QuerySet["AuditEntry"]):
    """Refuses updates and deletes; sealing writes through ``madoguchi.audit.sealing`` only."""

    def update(self, **kwargs: Any) -> NoReturn:
        raise AppendOnlyError("audit entries cannot be updated")

    def delete(self) -> NoReturn:
        raise AppendOnlyError("audit entries cannot be deleted")

    def bulk_update(self, *args: Any, **kwargs: Any) -> NoReturn:
        raise AppendOnlyError("audit entries cannot be updated")


class AuditEntry(models.Model):
    chain = models.CharField(max_length=16)
    # Empty until the entry is sealed into its chain (see madoguchi.audit.sealing).
    seq = models.PositiveBigIntegerField(null=True)
    municipality = models.ForeignKey(
        "tenants.Municipality",
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        null=True,
        related_name="+",
    )
    kind = models.CharField(max_length=10, choices=EntryKind.choices)
    action = models.CharField(max_length=64)
    # Actor and department are kept as ids plus a label, without database constraints, so
    # that removing a user or department never has to touch (and so break) the chain.
    actor_id = models.BigIntegerField(null=True)
    actor_label = models.CharField(max_length=150, blank=True)
    department_id = models.BigIntegerField(null=True)
    department_label = models.CharField(max_length=100, blank=True)
    object_type = models.CharField(max_length=64, blank=True)
    object_id = models.CharField(max_length=64, blank=True)
    purpose = models.CharField(max_length=200, blank=True)
    ip = models.CharField(max_length=45, blank=True)
    data = models.JSONField(default=dict)
    created_at = models.DateTimeField()
    prev_hash = models.CharField(max_length=64)
    hash = models.CharField(max_length=64)
    # The id of the MADOGUCHI_AUDIT_KEYS key the hash is an HMAC under; empty for entries
    # written before keyed hashes, whose hash is a plain SHA-256.
    key_id = models.CharField(max_length=16, blank=True, default="")
    # When the sealer gave the entry its place in the chain; empty while it waits to be sealed.
    sealed_at = models.DateTimeField(null=True)

    objects = AuditEntryQuerySet.as_manager()

    class Meta:
        verbose_name = _("監査ログ")
        verbose_name_plural = _("監査ログ")
        ordering = ["chain", "id"]
        constraints = [
            models.UniqueConstraint(fields=["chain", "seq"], name="audit_chain_seq_unique")
        ]
        indexes = [
            models.Index(fields=["municipality", "created_at"], name="audit_muni_time_idx"),
            models.Index(fields=["object_type", "object_id"], name="audit_object_idx"),
            models.Index(
                fields=["chain", "id"],
                name="audit_unsealed_idx",
                condition=models.Q(sealed_at__isnull=True),
            ),
        ]

    def __str__(self) -> str:
        place = f"#{self.seq}" if self.seq is not None else f" (unsealed id {self.pk})"
        return f"{self.chain}{place} {self.action}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        # A new instance carrying an existing pk would make Django UPDATE that row.
        if not self._state.adding or self.pk is not None:
            raise AppendOnlyError("audit entries cannot be updated")
        kwargs["force_insert"] = True
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> NoReturn:
        raise AppendOnlyError("audit entries cannot be deleted")

    @property
    def is_sealed(self) -> bool:
        return self.sealed_at is not None


class AuditChainHead(models.Model):
    """The last sealed entry of each chain; locked while a batch of entries is sealed."""

    chain = models.CharField(max_length=16, unique=True)
    last_seq = models.PositiveBigIntegerField(default=0)
    last_hash = models.CharField(max_length=64)

    def __str__(self) -> str:
        return f"{self.chain}#{self.last_seq}"
