"""Procedures, their versioned definitions, drafts, applications and attachments."""

from __future__ import annotations

import uuid

from django.conf import settings
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
    # False once withdrawn: gone from the residents' catalogue, new submissions refused,
    # existing applications carry on.
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
    # When the version first became the current one; None while it is only uploaded (a
    # draft an admin previews before publishing it).
    published_at = models.DateTimeField(null=True, blank=True)
    # The YAML text it was uploaded as, when it came from the console or the command line.
    source = models.TextField(blank=True)

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
    language = models.CharField(
        max_length=8,
        default="ja",
        help_text="the language the resident applied in; their e-mails are written in it",
    )
    # What the resident is told with the current state (e.g. the documents still missing).
    public_message = models.TextField(blank=True)
    answers = EncryptedJSONField()
    email = EncryptedTextField(null=True, blank=True)
    # Search and duplicate detection without decrypting: a normalised name for staff search
    # and keyed hashes of the identifying answers. The name is searched anywhere in it
    # (LIKE '%…%', which no B-tree index serves); the hashes are looked up within a procedure
    # (the composite indexes below). Every index is written by every submission under
    # SQLite's one write lock, so none is kept that no query uses. (The municipality's and the
    # procedure's own indexes stay: the staff queue reads a municipality's rows in id order
    # through them, 2-4x faster than through the composite indexes that start with them.)
    name_search = models.CharField(max_length=200, blank=True)
    mynumber_index = models.CharField(max_length=64, blank=True)
    person_index = models.CharField(max_length=64, blank=True)
    assigned_to = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("担当者"),
    )
    # Applications opened together by a one-stop bundle share this id (and the lookup secret).
    bundle = models.UUIDField(null=True, blank=True, db_index=True)
    # Set when the application reaches a final state (paid, rejected, withdrawn, ...).
    closed_at = models.DateTimeField(null=True, blank=True)
    # The resident answered a request for more information; cleared by the next transition.
    answered_at = models.DateTimeField(null=True, blank=True)
    idempotency_key = models.CharField(max_length=64, null=True, blank=True)  # noqa: DJ001 - unique when set
    # SHA-256 of the procedure and answers first sent with the key: a replay must match it.
    idempotency_fingerprint = models.CharField(max_length=64, blank=True, default="")

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
            # Duplicate detection looks up one person within one procedure.
            models.Index(fields=["procedure", "person_index"], name="application_proc_person_idx"),
            models.Index(
                fields=["procedure", "mynumber_index"], name="application_proc_mynumber_idx"
            ),
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
    # Why (e.g. for 不承認); seen by staff only, the resident gets public_message.
    reason = models.TextField(blank=True)

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


class Note(models.Model):
    """An internal note on an application; never shown to the resident."""

    municipality = models.ForeignKey(
        "tenants.Municipality", on_delete=models.CASCADE, related_name="+"
    )
    application = models.ForeignKey(Application, on_delete=models.CASCADE, related_name="notes")
    department = models.ForeignKey("tenants.Department", on_delete=models.PROTECT, related_name="+")
    author_label = models.CharField(max_length=150)
    text = models.TextField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at", "pk"]

    def __str__(self) -> str:
        return f"note {self.pk} on {self.application_id}"


class InfoRequest(models.Model):
    """A request for more information (追加書類のお願い) the resident answers from a link."""

    municipality = models.ForeignKey(
        "tenants.Municipality", on_delete=models.CASCADE, related_name="+"
    )
    application = models.ForeignKey(
        Application, on_delete=models.CASCADE, related_name="info_requests"
    )
    items = models.TextField(help_text="what to send, as told to the resident")
    created_at = models.DateTimeField(auto_now_add=True)
    # Set when the application moved on without an answer: the request no longer applies.
    closed_at = models.DateTimeField(null=True, blank=True)
    answered_at = models.DateTimeField(null=True, blank=True)
    response = EncryptedTextField(null=True, blank=True)

    def __str__(self) -> str:
        return f"info request {self.pk} on {self.application_id}"


class DuplicateMatch(models.Model):
    """Two applications that look like the same person or household (flagged for staff)."""

    class Basis(models.TextChoices):
        MYNUMBER = "mynumber", _("個人番号が一致")
        PERSON = "person", _("氏名・生年月日・住所が一致")

    municipality = models.ForeignKey(
        "tenants.Municipality", on_delete=models.CASCADE, related_name="+"
    )
    application = models.ForeignKey(
        Application, on_delete=models.CASCADE, related_name="duplicate_matches"
    )
    other = models.ForeignKey(Application, on_delete=models.CASCADE, related_name="+")
    basis = models.CharField(max_length=20, choices=Basis.choices)
    created_at = models.DateTimeField(auto_now_add=True)
    resolved_at = models.DateTimeField(null=True, blank=True)
    resolution = models.CharField(max_length=200, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["application", "other", "basis"], name="duplicate_match_unique"
            )
        ]

    def __str__(self) -> str:
        return f"{self.application_id} ~ {self.other_id} ({self.basis})"


class TransferAccount(models.Model):
    """The municipality's paying account, for 全銀協 総合振込 files (filled on first export)."""

    municipality = models.OneToOneField(
        "tenants.Municipality", on_delete=models.CASCADE, related_name="+"
    )
    requester_code = models.CharField(_("振込依頼人コード"), max_length=10)
    requester_name = models.CharField(_("振込依頼人名（カナ）"), max_length=40)
    bank_code = models.CharField(_("仕向銀行番号"), max_length=4)
    bank_name = models.CharField(_("仕向銀行名（カナ）"), max_length=15, blank=True)
    branch_code = models.CharField(_("仕向支店番号"), max_length=3)
    branch_name = models.CharField(_("仕向支店名（カナ）"), max_length=15, blank=True)
    account_type = models.CharField(_("預金種目"), max_length=2, default="1")
    account_number = models.CharField(_("口座番号"), max_length=7)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"{self.municipality_id}: {self.bank_code}-{self.branch_code}"
