"""Health centres, clinics, cases (患者), notifications (発生届), self-reports, alerts.

Identity and health data are encrypted; only what lists and counts need stays in clear
(疾患, 類型, age band, the covered town's code, dates of the observation period).
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from madoguchi.core.fields import (
    BlindIndexField,
    EncryptedDateField,
    EncryptedJSONField,
    EncryptedTextField,
)
from madoguchi.core.japanese import normalize_digits, normalize_for_search
from madoguchi.surveillance.diseases import COVID19, DISEASE_CHOICES
from madoguchi.surveillance.diseases import Category as Category
from madoguchi.tenants.models import Department, Municipality


class CaseStatus(models.TextChoices):
    OBSERVING = "observing", _("療養中")
    ENDED = "ended", _("療養終了")
    DIED = "died", _("死亡")


class FollowUpStatus(models.TextChoices):
    """健康観察の状況: where the health centre stands with the patient."""

    NOT_CONTACTED = "not_contacted", _("未連絡")
    MONITORING = "monitoring", _("連絡済み・健康観察中")
    UNREACHABLE = "unreachable", _("電話不通（要再連絡）")
    ARRANGING_ADMISSION = "arranging_admission", _("入院調整中")
    ENDED = "ended", _("健康観察終了")


class HealthCentre(models.Model):
    """保健所: a department of the body that runs it (prefecture, designated or core city)."""

    municipality = models.ForeignKey(Municipality, on_delete=models.CASCADE, related_name="+")
    department = models.OneToOneField(
        Department, on_delete=models.CASCADE, related_name="health_centre"
    )
    name = models.CharField(_("名称"), max_length=100)
    urgent_phone = models.CharField(_("緊急連絡先"), max_length=20)

    class Meta:
        verbose_name = _("保健所")
        verbose_name_plural = _("保健所")

    def __str__(self) -> str:
        return self.name


class HealthCentreArea(models.Model):
    """One 団体コード a health centre covers; each code has one health centre."""

    municipality = models.ForeignKey(Municipality, on_delete=models.CASCADE, related_name="+")
    health_centre = models.ForeignKey(HealthCentre, on_delete=models.CASCADE, related_name="areas")
    code = models.CharField(_("全国地方公共団体コード"), max_length=6, unique=True)

    def __str__(self) -> str:
        return self.code


class Clinic(models.Model):
    """A clinic's account, issued by a health centre; it sees only its own notifications."""

    municipality = models.ForeignKey(Municipality, on_delete=models.CASCADE, related_name="+")
    health_centre = models.ForeignKey(HealthCentre, on_delete=models.CASCADE, related_name="+")
    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="clinic"
    )
    name = models.CharField(_("医療機関名"), max_length=100)
    address = models.CharField(_("所在地"), max_length=200)
    phone = models.CharField(_("電話番号"), max_length=20)
    doctor_name = models.CharField(_("医師名"), max_length=50)

    def __str__(self) -> str:
        return self.name


class SurveillanceSetting(models.Model):
    """Per-body switches: the 2022 "only four groups" rule, and whether sex is published."""

    municipality = models.OneToOneField(Municipality, on_delete=models.CASCADE, related_name="+")
    four_groups_only = models.BooleanField(_("発生届を4類型に限定"), default=False)
    publish_sex = models.BooleanField(_("公表に性別を含める"), default=False)

    def __str__(self) -> str:
        return f"surveillancesetting {self.pk}"


class ReportLink(models.Model):
    """A self-report link (hashed token) shared by a household; expires with observation."""

    municipality = models.ForeignKey(Municipality, on_delete=models.CASCADE, related_name="+")
    token_hash = models.CharField(max_length=64, unique=True)
    expires_at = models.DateTimeField()
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"reportlink {self.pk}"


class Case(models.Model):
    """患者: one person's case, owned by the body whose health centre handles it."""

    municipality = models.ForeignKey(Municipality, on_delete=models.CASCADE, related_name="+")
    health_centre = models.ForeignKey(HealthCentre, on_delete=models.PROTECT, related_name="cases")
    residence_code = models.CharField(_("所在地の団体コード"), max_length=6, db_index=True)
    disease = models.CharField(
        _("疾患"), max_length=20, choices=DISEASE_CHOICES, default=COVID19, db_index=True
    )
    category = models.CharField(_("類型"), max_length=20, choices=Category.choices)
    status = models.CharField(
        max_length=10, choices=CaseStatus.choices, default=CaseStatus.OBSERVING
    )
    age_band = models.CharField(_("年代"), max_length=10)
    name = EncryptedTextField(_("氏名"))
    name_kana = EncryptedTextField(_("ふりがな"))
    birth_date = EncryptedDateField(_("生年月日"))
    phone = EncryptedTextField(_("電話番号"), blank=True, default="")
    email = EncryptedTextField(_("メールアドレス"), blank=True, default="")
    identity_key = BlindIndexField(source="identity_source", purpose="surveillance.case_identity")
    health = EncryptedJSONField(default=dict)  # onset, specimen date, symptoms, care, severity
    day_zero = models.DateField(_("起算日"))
    observation_end = models.DateField(_("療養期間の最終日"), db_index=True)
    report_link = models.ForeignKey(
        ReportLink, on_delete=models.SET_NULL, null=True, blank=True, related_name="cases"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    follow_up = models.CharField(
        _("健康観察の状況"),
        max_length=20,
        choices=FollowUpStatus.choices,
        default=FollowUpStatus.NOT_CONTACTED,
        db_index=True,
    )
    follow_up_note = EncryptedTextField(_("健康観察のメモ"), blank=True, default="")

    class Meta:
        indexes = [models.Index(fields=["municipality", "health_centre", "status"])]

    def __str__(self) -> str:
        return f"case {self.pk}"

    @property
    def identity_source(self) -> str:
        """Normalised 氏名 + 生年月日 + 電話 (digits only): the dedup key before hashing."""
        phone = "".join(c for c in normalize_digits(self.phone or "") if c.isdigit())
        return f"{normalize_for_search(self.name or '')}|{self.birth_date}|{phone}"


class Notification(models.Model):
    """発生届 as filed by a clinic; the first one creates the case, later ones link to it."""

    municipality = models.ForeignKey(Municipality, on_delete=models.CASCADE, related_name="+")
    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="notifications")
    clinic = models.ForeignKey(Clinic, on_delete=models.PROTECT, related_name="notifications")
    disease = models.CharField(max_length=20, choices=DISEASE_CHOICES, default=COVID19)
    category = models.CharField(max_length=20, choices=Category.choices)
    items = EncryptedJSONField()
    submitted_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"notification {self.pk}"


class SelfReport(models.Model):
    """One day's health report (My HER-SYS); an edit on the same day replaces it."""

    municipality = models.ForeignKey(Municipality, on_delete=models.CASCADE, related_name="+")
    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="reports")
    report_date = models.DateField()
    items = EncryptedJSONField()
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["case", "report_date"], name="selfreport_one_per_day")
        ]

    def __str__(self) -> str:
        return f"selfreport {self.pk}"


class Alert(models.Model):
    """An alert raised by an alert rule, on the nurses' worklist until acknowledged."""

    municipality = models.ForeignKey(Municipality, on_delete=models.CASCADE, related_name="+")
    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="alerts")
    rule_code = models.CharField(max_length=30)
    severity = models.PositiveSmallIntegerField(help_text="1 is the most urgent")
    day = models.DateField()
    created_at = models.DateTimeField(auto_now_add=True)
    acknowledged_at = models.DateTimeField(null=True, blank=True)
    acknowledged_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    note = EncryptedTextField(blank=True, default="")

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["case", "rule_code", "day"], name="alert_once_per_day")
        ]

    def __str__(self) -> str:
        return f"alert {self.pk}"


class CaseTransfer(models.Model):
    """A case moved from one health centre to another; history kept in both bodies' logs."""

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="transfers")
    from_centre = models.ForeignKey(HealthCentre, on_delete=models.PROTECT, related_name="+")
    to_centre = models.ForeignKey(HealthCentre, on_delete=models.PROTECT, related_name="+")
    reason = models.CharField(max_length=200)
    transferred_at = models.DateTimeField(auto_now_add=True)
    transferred_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )

    def __str__(self) -> str:
        return f"casetransfer {self.pk}"


class AgeBandCount(models.Model):
    """Daily count by age band of patients not notified individually (the four-groups rule)."""

    municipality = models.ForeignKey(Municipality, on_delete=models.CASCADE, related_name="+")
    clinic = models.ForeignKey(Clinic, on_delete=models.CASCADE, related_name="+")
    day = models.DateField()
    age_band = models.CharField(max_length=10)
    count = models.PositiveIntegerField()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["clinic", "day", "age_band"], name="agebandcount_unique"
            )
        ]

    def __str__(self) -> str:
        return f"agebandcount {self.pk}"


class Contact(models.Model):
    """A contact found in the 疫学調査, judged against the NIID close-contact definition."""

    municipality = models.ForeignKey(Municipality, on_delete=models.CASCADE, related_name="+")
    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="contacts")
    name = EncryptedTextField(_("氏名"))
    phone = EncryptedTextField(_("電話番号"), blank=True, default="")
    details = EncryptedJSONField(default=dict)  # relation, last contact, the definition's items
    is_close_contact = models.BooleanField(_("濃厚接触者"))
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"contact {self.pk}"


class BehaviourEntry(models.Model):
    """One entry of the 行動歴 in the 疫学調査: a day, a place and what happened there."""

    municipality = models.ForeignKey(Municipality, on_delete=models.CASCADE, related_name="+")
    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="behaviour")
    day = EncryptedDateField(_("日付"))
    description = EncryptedTextField(_("内容"))
    details = EncryptedJSONField(default=dict)  # time band, kind of place, precautions
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"behaviourentry {self.pk}"


class Certificate(models.Model):
    """療養証明書 as issued: the number printed on it and the period it states."""

    municipality = models.ForeignKey(Municipality, on_delete=models.CASCADE, related_name="+")
    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="certificates")
    number = models.CharField(_("証明書番号"), max_length=20, unique=True)
    issued_on = models.DateField(_("発行日"))
    period_from = models.DateField()
    period_to = models.DateField()
    issued_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"certificate {self.pk}"


class LineLinkCode(models.Model):
    """A one-time code that links a LINE account to a household's report link.

    Only a keyed hash of the code is stored. ``token`` is the report-link token the LINE
    messages carry (the link itself keeps only its hash), sealed with the field key.
    """

    municipality = models.ForeignKey(Municipality, on_delete=models.CASCADE, related_name="+")
    report_link = models.ForeignKey(ReportLink, on_delete=models.CASCADE, related_name="line_codes")
    code_hash = models.CharField(max_length=64, unique=True)
    token = EncryptedTextField()
    expires_at = models.DateTimeField()
    used_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"linelinkcode {self.pk}"


class LineReportLink(models.Model):
    """A LINE user linked to a household's report link: replies and morning reminders."""

    municipality = models.ForeignKey(Municipality, on_delete=models.CASCADE, related_name="+")
    report_link = models.ForeignKey(ReportLink, on_delete=models.CASCADE, related_name="line_users")
    line_user_id = EncryptedTextField()
    line_user_key = BlindIndexField(source="line_user_id", purpose="surveillance.line_user")
    token = EncryptedTextField()
    reminded_on = models.DateField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["report_link", "line_user_key"], name="linereportlink_once"
            )
        ]

    def __str__(self) -> str:
        return f"linereportlink {self.pk}"
