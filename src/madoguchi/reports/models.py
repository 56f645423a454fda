"""Reports of problems in town (道路・公園の損傷通報) with photos, routed to a department."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _

from madoguchi.tenants.models import Department, Municipality


class ReportCategory(models.Model):
    municipality = models.ForeignKey(Municipality, on_delete=models.CASCADE)
    code = models.SlugField(max_length=40)
    name = models.CharField(max_length=100)
    name_en = models.CharField(max_length=100, blank=True)
    department = models.ForeignKey(Department, null=True, blank=True, on_delete=models.SET_NULL)
    active = models.BooleanField(default=True)  # inactive: kept for old reports, not offered

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["municipality", "code"], name="report_category_unique")
        ]

    def __str__(self) -> str:
        return self.name

    def label(self, language: str) -> str:
        """The name residents read: the English one on English pages when there is one."""
        return self.name_en if language.startswith("en") and self.name_en else self.name


class ReportArea(models.Model):
    """An area a resident can choose instead of a map pin (例: 中央区, 〇〇公園)."""

    municipality = models.ForeignKey(Municipality, on_delete=models.CASCADE)
    name = models.CharField(max_length=100)
    name_en = models.CharField(max_length=100, blank=True)

    def __str__(self) -> str:
        return self.name

    def label(self, language: str) -> str:
        """The name shown: the English one on English pages when there is one."""
        return self.name_en if language.startswith("en") and self.name_en else self.name


class ReportRoute(models.Model):
    """The department responsible for a category in one area, or in every area (``area`` None).

    A report goes to the route of its category and area, else to the category's route for every
    area, else to the category's own department (``services.route_department``).
    """

    category = models.ForeignKey(ReportCategory, on_delete=models.CASCADE, related_name="routes")
    area = models.ForeignKey(ReportArea, null=True, blank=True, on_delete=models.CASCADE)
    department = models.ForeignKey(Department, on_delete=models.CASCADE)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["category", "area"],
                condition=models.Q(area__isnull=False),
                name="report_route_unique",
            ),
            models.UniqueConstraint(
                fields=["category"],
                condition=models.Q(area__isnull=True),
                name="report_route_any_area_unique",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.category_id}/{self.area_id}"


class ReportStatus(models.TextChoices):
    RECEIVED = "received", _("受付")
    IN_PROGRESS = "in_progress", _("対応中")
    RESOLVED = "resolved", _("対応済み")
    DUPLICATE = "duplicate", _("重複")
    REJECTED = "rejected", _("対応しない")


OPEN = [ReportStatus.RECEIVED, ReportStatus.IN_PROGRESS]


class LocationSource(models.TextChoices):
    PHOTO = "photo", _("写真の位置情報")
    PIN = "pin", _("地図")
    ADDRESS = "address", _("住所")
    AREA = "area", _("地域")


class Report(models.Model):
    municipality = models.ForeignKey(Municipality, on_delete=models.CASCADE)
    category = models.ForeignKey(ReportCategory, on_delete=models.PROTECT)
    department = models.ForeignKey(Department, null=True, blank=True, on_delete=models.SET_NULL)
    area = models.ForeignKey(ReportArea, null=True, blank=True, on_delete=models.SET_NULL)
    address = models.CharField(max_length=200, blank=True)
    latitude = models.DecimalField(max_digits=9, decimal_places=6, null=True, blank=True)
    longitude = models.DecimalField(max_digits=9, decimal_places=6, null=True, blank=True)
    location_source = models.CharField(max_length=10, choices=LocationSource.choices)
    description = models.TextField()
    email = models.EmailField(blank=True)  # personal data: never on public pages
    receipt_number = models.CharField(max_length=10, unique=True)
    secret_hash = models.CharField(max_length=64)
    status = models.CharField(
        max_length=12, choices=ReportStatus.choices, default=ReportStatus.RECEIVED
    )
    public_note = models.CharField(max_length=500, blank=True)
    duplicate_of = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="duplicates"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    changed_at = models.DateTimeField(auto_now=True)

    class Meta:
        indexes = [models.Index(fields=["municipality", "status", "created_at"])]

    def __str__(self) -> str:
        return self.receipt_number


def photo_path(photo: ReportPhoto, filename: str) -> str:
    return f"reports/{photo.report.municipality_id}/{photo.report_id}/{filename}"


class ReportPhoto(models.Model):
    """A photo as stored: re-encoded without any EXIF field."""

    report = models.ForeignKey(Report, on_delete=models.CASCADE, related_name="photos")
    image = models.FileField(upload_to=photo_path)
    width = models.PositiveIntegerField()
    height = models.PositiveIntegerField()

    def __str__(self) -> str:
        return self.image.name
