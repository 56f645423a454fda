"""Procedures, their versioned definitions, drafts, applications and attachments."""

from __future__ import annotations

import uuid

from django.db import models
from django.utils.translation import gettext_lazy as _

from madoguchi.core.fields import EncryptedJSONField, EncryptedTextField


class Channel(models.TextChoices):
    WEB = "web", _("Web")
    API = "api", _("API")
    PAPER = "paper", _("紙（職員入力）")


class Procedure(models.Model):
    """A procedure a municipality offers (e.g. 特別定額給付金の申請)."""

    municipality = models.ForeignKey(
        "tenants.Municipality", on_delete=models.CASCADE, related_name="procedures"
    )
    code = models.SlugField(_("手続きコード"), max_length=63)
    department = models.ForeignKey(
        "tenants.Department", on_delete=models.PROTECT, related_name="procedures"
    )
    current_version = models.ForeignKey(
        "ProcedureVersion", on_delete=models.PROTECT, null=True, related_name="+"
    )
    is_published = models.BooleanField(_("公開中"), default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("手続き")
        verbose_name_plural = _("手続き")
        constraints = [
            models.UniqueConstraint(
                fields=["municipality", "code"], name="procedure_code_unique_per_municipality"
            )
        ]

    def __str__(self) -> str:
        return self.code


class ProcedureVersion(models.Model):
    """One version of a procedure's definition; applications keep the one they used."""

    municipality = models.ForeignKey(
        "tenants.Municipality", on_delete=models.CASCADE, related_name="+"
    )
    procedure = models.ForeignKey(Procedure, on_delete=models.CASCADE, related_name="versions")
    number = models.PositiveIntegerField()
    definition = models.JSONField()
    digest = models.CharField(max_length=64, help_text="SHA-256 of the canonical definition")
    created_at = models.DateTimeField(auto_now_add=True)
    created_by = models.CharField(max_length=150, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["procedure", "number"], name="procedure_version_unique")
        ]

    def __str__(self) -> str:
        return f"{self.procedure_id} v{self.number}"


class Draft(models.Model):
    """A resident's application in progress, resumable from a link."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    municipality = models.ForeignKey(
        "tenants.Municipality", on_delete=models.CASCADE, related_name="+"
    )
    version = models.ForeignKey(ProcedureVersion, on_delete=models.PROTECT, related_name="+")
    # Raw input per step (what the resident typed, valid or not) and the cleaned answers.
    raw = EncryptedJSONField(default=dict)
    answers = EncryptedJSONField(default=dict)
    completed_steps = models.JSONField(default=list)
    email = EncryptedTextField(null=True, blank=True)
    resume_token_hash = models.CharField(max_length=64, unique=True, null=True)  # noqa: DJ001 - many NULLs, unique when set
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    expires_at = models.DateTimeField()
    application = models.OneToOneField(
        "Application", on_delete=models.SET_NULL, null=True, related_name="+"
    )

    class Meta:
        indexes = [models.Index(fields=["expires_at"], name="draft_expires_idx")]

    def __str__(self) -> str:
        return str(self.id)


class Application(models.Model):
    """A submitted application. Answers are encrypted; receipts are not guessable."""

    municipality = models.ForeignKey(
        "tenants.Municipality", on_delete=models.CASCADE, related_name="applications"
    )
    procedure = models.ForeignKey(Procedure, on_delete=models.PROTECT, related_name="applications")
    version = models.ForeignKey(ProcedureVersion, on_delete=models.PROTECT, related_name="+")
    department = models.ForeignKey(
        "tenants.Department", on_delete=models.PROTECT, related_name="applications"
    )
    receipt_number = models.CharField(_("受付番号"), max_length=10, unique=True)
    secret_hash = models.CharField(max_length=64)
    channel = models.CharField(max_length=10, choices=Channel.choices)
    state = models.CharField(max_length=40)
    state_changed_at = models.DateTimeField()
    submitted_at = models.DateTimeField()
    due_date = models.DateField(help_text="expected completion, in business days")
    # What the resident is told with the current state (e.g. the documents still missing).
    public_message = models.TextField(blank=True)
    answers = EncryptedJSONField()
    email = EncryptedTextField(null=True, blank=True)
    # Search and duplicate detection without decrypting: a normalised name for staff search
    # and keyed hashes of the identifying answers.
    name_search = models.CharField(max_length=200, blank=True, db_index=True)
    mynumber_index = models.CharField(max_length=64, blank=True, db_index=True)
    person_index = models.CharField(max_length=64, blank=True, db_index=True)
    idempotency_key = models.CharField(max_length=64, null=True, blank=True)  # noqa: DJ001 - unique when set

    class Meta:
        verbose_name = _("申請")
        verbose_name_plural = _("申請")
        constraints = [
            models.UniqueConstraint(
                fields=["municipality", "idempotency_key"],
                name="application_idempotency_unique",
            )
        ]
        indexes = [
            models.Index(fields=["municipality", "state"], name="application_muni_state_idx"),
            models.Index(fields=["procedure", "submitted_at"], name="application_proc_time_idx"),
        ]

    def __str__(self) -> str:
        return self.receipt_number


class StateChange(models.Model):
    """One step of an application's history (the first is its submission)."""

    municipality = models.ForeignKey(
        "tenants.Municipality", on_delete=models.CASCADE, related_name="+"
    )
    application = models.ForeignKey(
        Application, on_delete=models.CASCADE, related_name="state_changes"
    )
    from_state = models.CharField(max_length=40, blank=True)
    to_state = models.CharField(max_length=40)
    changed_at = models.DateTimeField()
    actor_id = models.BigIntegerField(null=True)
    actor_label = models.CharField(max_length=150, blank=True)
    # Shown to the resident (e.g. the documents still missing); never internal notes.
    public_message = models.TextField(blank=True)

    class Meta:
        ordering = ["changed_at", "pk"]
        indexes = [models.Index(fields=["application", "changed_at"], name="statechange_app_idx")]

    def __str__(self) -> str:
        return f"{self.application_id}: {self.from_state}->{self.to_state}"


class Attachment(models.Model):
    """An uploaded file, checked by content and stored outside the web root."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    municipality = models.ForeignKey(
        "tenants.Municipality", on_delete=models.CASCADE, related_name="+"
    )
    draft = models.ForeignKey(
        Draft, on_delete=models.SET_NULL, null=True, blank=True, related_name="attachments"
    )
    application = models.ForeignKey(
        Application, on_delete=models.CASCADE, null=True, blank=True, related_name="attachments"
    )
    field_key = models.CharField(max_length=63, blank=True)
    storage_name = models.CharField(max_length=200)
    content_type = models.CharField(max_length=100)
    size = models.PositiveBigIntegerField()
    sha256 = models.CharField(max_length=64)
    original_name = models.CharField(max_length=120)
    # API uploads are claimed by a submission with this token (stored hashed).
    upload_token_hash = models.CharField(max_length=64, blank=True, db_index=True)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"{self.original_name} ({self.content_type})"
