"""Open-data records per municipality, in the items of the national COVID-19 formats.

The four daily datasets (検査実施人数, 検査実施件数, 陰性確認数, コールセンター相談件数) share one
shape — a date, a count and a note — and one natural key, so they live in one table with a
``kind`` column. 陽性患者属性 has fifteen items of its own and its own key (No), so it has its
own table. Names of people are never stored: the national format has none.
"""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class Dataset(models.TextChoices):
    """Every dataset a municipality publishes; the value is the national file-name part."""

    PATIENTS = "patients", _("陽性患者属性")
    TEST_PEOPLE = "test_people", _("検査実施人数")
    TEST_COUNT = "test_count", _("検査実施件数")
    CONFIRM_NEGATIVE = "confirm_negative", _("陰性確認数")
    CALL_CENTER = "call_center", _("コールセンター相談件数")
    PROCEDURE_STATS = "procedure_stats", _("手続きの受付・処理件数")


# The national COVID-19 datasets, which can be imported; procedure statistics are derived.
NATIONAL_DATASETS: tuple[Dataset, ...] = (
    Dataset.PATIENTS,
    Dataset.TEST_PEOPLE,
    Dataset.TEST_COUNT,
    Dataset.CONFIRM_NEGATIVE,
    Dataset.CALL_CENTER,
)
DAILY_DATASETS: tuple[Dataset, ...] = NATIONAL_DATASETS[1:]


class Licence(models.TextChoices):
    """Licences a municipality may publish under (SPDX identifiers)."""

    CC_BY_4_0 = "CC-BY-4.0", _("クリエイティブ・コモンズ 表示 4.0 国際（CC BY 4.0）")
    PDL_1_0 = "PDL-1.0", _("公共データ利用規約 第1.0版（PDL1.0、CC BY 4.0 互換）")
    CC0_1_0 = "CC0-1.0", _("CC0 1.0（パブリック・ドメイン）")


LICENCE_URLS: dict[str, str] = {
    Licence.CC_BY_4_0: "https://creativecommons.org/licenses/by/4.0/deed.ja",
    Licence.PDL_1_0: "https://www.digital.go.jp/resources/open_data/public_data_license_v1.0",
    Licence.CC0_1_0: "https://creativecommons.org/publicdomain/zero/1.0/deed.ja",
}


class Publisher(models.Model):
    """A municipality's open-data settings and the version of everything it publishes.

    ``version`` goes up with every change to any of its datasets; caches of the dashboard are
    keyed by it, so that every server process sees a change at its next request.
    """

    municipality = models.OneToOneField(
        "tenants.Municipality", on_delete=models.CASCADE, related_name="+"
    )
    licence = models.CharField(
        _("ライセンス"), max_length=20, choices=Licence.choices, default=Licence.CC_BY_4_0
    )
    version = models.PositiveBigIntegerField(default=0)
    updated_at = models.DateTimeField(_("最終更新"), null=True, blank=True)

    class Meta:
        verbose_name = _("オープンデータの公開設定")
        verbose_name_plural = _("オープンデータの公開設定")

    def __str__(self) -> str:
        return f"{self.municipality_id} v{self.version}"


class DatasetUpdate(models.Model):
    """When one dataset of a municipality last changed (the catalogue's 更新日)."""

    municipality = models.ForeignKey(
        "tenants.Municipality", on_delete=models.CASCADE, related_name="+"
    )
    dataset = models.CharField(max_length=20, choices=Dataset.choices)
    updated_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["municipality", "dataset"], name="opendata_update_unique"
            )
        ]

    def __str__(self) -> str:
        return f"{self.municipality_id}/{self.dataset}"


class DailyCount(models.Model):
    """One day of a daily dataset (検査実施人数, 検査実施件数, 陰性確認数, 相談件数)."""

    municipality = models.ForeignKey(
        "tenants.Municipality", on_delete=models.CASCADE, related_name="+"
    )
    kind = models.CharField(max_length=20, choices=Dataset.choices)
    date = models.DateField()  # 実施_年月日 / 完了_年月日 / 受付_年月日
    count = models.PositiveIntegerField()
    note = models.TextField(blank=True)  # 備考

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["municipality", "kind", "date"], name="opendata_daily_unique"
            )
        ]

    def __str__(self) -> str:
        return f"{self.municipality_id}/{self.kind}/{self.date}: {self.count}"


class AgeGroup(models.TextChoices):
    """患者_年代: the national item's allowed values."""

    UNDER_10 = "10歳未満"
    TEENS = "10代"
    TWENTIES = "20代"
    THIRTIES = "30代"
    FORTIES = "40代"
    FIFTIES = "50代"
    SIXTIES = "60代"
    SEVENTIES = "70代"
    EIGHTIES = "80代"
    NINETY_PLUS = "90歳以上"


class Sex(models.TextChoices):
    """患者_性別."""

    MALE = "男性"
    FEMALE = "女性"
    OTHER = "その他"


class Condition(models.TextChoices):
    """患者_状態."""

    ASYMPTOMATIC = "無症状"
    MILD = "軽症"
    MODERATE = "中等症"
    SEVERE = "重症"
    DEAD = "死亡"


class PatientRecord(models.Model):
    """One row of 陽性患者属性: the published attributes of a case, never a name.

    Empty text and NULL flags mean 不明 (unknown), as the national definition has it.
    """

    municipality = models.ForeignKey(
        "tenants.Municipality", on_delete=models.CASCADE, related_name="+"
    )
    number = models.CharField(max_length=20)  # No
    published_on = models.DateField()  # 公表_年月日
    onset_on = models.DateField(null=True, blank=True)  # 発症_年月日
    residence = models.CharField(max_length=100, blank=True)  # 患者_居住地
    age_group = models.CharField(max_length=10, choices=AgeGroup.choices, blank=True)
    sex = models.CharField(max_length=10, choices=Sex.choices, blank=True)
    occupation = models.CharField(max_length=100, blank=True)  # 患者_職業
    condition = models.CharField(max_length=10, choices=Condition.choices, blank=True)
    symptoms = models.CharField(max_length=200, blank=True)  # 患者_症状, ";"-separated
    travel_history = models.BooleanField(null=True)  # 患者_渡航歴の有無フラグ
    discharged = models.BooleanField(null=True)  # 患者_退院済フラグ
    note = models.TextField(blank=True)  # 備考

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["municipality", "number"], name="opendata_patient_unique"
            )
        ]
        indexes = [
            # Covers the dashboard's GROUP BY day and GROUP BY age (and sex) without touching
            # the table.
            models.Index(fields=["municipality", "published_on"], name="opendata_patient_day_idx"),
            models.Index(
                fields=["municipality", "age_group", "sex"], name="opendata_patient_age_sex_idx"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.municipality_id}/No.{self.number}"


class ProcedureDailyStat(models.Model):
    """Applications received, completed and still open at the end of one day, per procedure.

    A snapshot of the procedures app's aggregates (counts only, no personal data), refreshed
    by :func:`madoguchi.opendata.services.procedure_stats_refresh`.
    """

    municipality = models.ForeignKey(
        "tenants.Municipality", on_delete=models.CASCADE, related_name="+"
    )
    procedure_code = models.CharField(max_length=63)
    procedure_name = models.CharField(max_length=200)
    date = models.DateField()
    received = models.PositiveIntegerField()
    completed = models.PositiveIntegerField()
    open = models.PositiveIntegerField()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["municipality", "procedure_code", "date"],
                name="opendata_procedure_day_unique",
            )
        ]

    def __str__(self) -> str:
        return f"{self.municipality_id}/{self.procedure_code}/{self.date}"
