"""The import report names every value it folded into the national classes, with its count.

Tokyo's published 陽性患者属性 file writes ages the national format folds (90代, 100歳以上 →
90歳以上) and markers for unknown (不明, 調査中, -) that the format leaves blank. The rows below
follow the layout of that file (``TOKYO_PATIENT_HEADER``).
"""

from __future__ import annotations

import io
from pathlib import Path

from django.core.management import call_command

from madoguchi.opendata.models import PatientRecord
from madoguchi.opendata.report import Folding
from madoguchi.tenants.models import Municipality
from tests.isolation import Tenant
from tests.opendata.conftest import (
    TOKYO_PATIENT_HEADER,
    import_file,
    make_csv,
    tokyo_patient_row,
)
from tests.opendata.test_isolation_and_staff import upload

# (年代, 性別) per patient, as Tokyo's file writes them.
PEOPLE = [
    ("90代", "男性"),
    ("90代", "女性"),
    ("100歳以上", "女性"),
    ("90歳以上", "男性"),
    ("不明", "不明"),
    ("-", "調査中"),
    ("40代", "男性"),
]
EXPECTED = (
    Folding("患者_年代", "90代", "90歳以上", 2),
    Folding("患者_年代", "100歳以上", "90歳以上", 1),
    Folding("患者_年代", "不明", "", 1),
    Folding("患者_年代", "-", "", 1),
    Folding("患者_性別", "不明", "", 1),
    Folding("患者_性別", "調査中", "", 1),
)


def tokyo_patients() -> bytes:
    rows = [
        tokyo_patient_row(n, age, sex, residence="都内", discharged="1")
        for n, (age, sex) in enumerate(PEOPLE, start=1)
    ]
    return make_csv(rows, TOKYO_PATIENT_HEADER)


def test_the_report_counts_each_folding(tokyo: Municipality) -> None:
    report = import_file(tokyo, tokyo_patients(), "patients")
    assert report.imported
    assert report.foldings == EXPECTED
    assert list(
        PatientRecord.objects.filter(municipality=tokyo)
        .order_by("number")
        .values_list("age_group", flat=True)
    ) == ["90歳以上", "90歳以上", "90歳以上", "90歳以上", "", "", "40代"]
    lines = report.lines()
    assert "読み替えた値: 患者_年代「90代」→「90歳以上」2件" in lines
    assert "読み替えた値: 患者_年代「100歳以上」→「90歳以上」1件" in lines
    assert "読み替えた値: 患者_年代「-」→ 空欄（不明）1件" in lines
    assert "読み替えた値: 患者_性別「調査中」→ 空欄（不明）1件" in lines
    assert report.as_dict()["foldings"][0] == {
        "column": "患者_年代",
        "original": "90代",
        "stored": "90歳以上",
        "count": 2,
    }


def test_a_file_in_the_national_values_reports_no_folding(tokyo: Municipality) -> None:
    rows = [tokyo_patient_row(n, "40代", "女性") for n in range(1, 4)]
    report = import_file(tokyo, make_csv(rows, TOKYO_PATIENT_HEADER), "patients")
    assert report.imported
    assert report.foldings == ()
    assert not any(line.startswith("読み替えた値") for line in report.lines())


def test_the_command_prints_each_folding(tokyo: Municipality, tmp_path: Path) -> None:
    source = tmp_path / "130001_tokyo_covid19_patients.csv"
    source.write_bytes(tokyo_patients())
    out = io.StringIO()
    call_command(
        "opendata",
        "import",
        "--municipality",
        "130001",
        "--kind",
        "patients",
        str(source),
        stdout=out,
    )
    printed = out.getvalue().splitlines()
    assert [line for line in printed if line.startswith("読み替えた値")] == [
        "読み替えた値: 患者_年代「90代」→「90歳以上」2件",
        "読み替えた値: 患者_年代「100歳以上」→「90歳以上」1件",
        "読み替えた値: 患者_年代「不明」→ 空欄（不明）1件",
        "読み替えた値: 患者_年代「-」→ 空欄（不明）1件",
        "読み替えた値: 患者_性別「不明」→ 空欄（不明）1件",
        "読み替えた値: 患者_性別「調査中」→ 空欄（不明）1件",
    ]


def test_the_import_page_lists_each_folding(tenant_a: Tenant) -> None:
    kobe = tenant_a.municipality
    rows = [
        tokyo_patient_row(n, age, sex, code="281000", prefecture="兵庫県", city="神戸市")
        for n, (age, sex) in enumerate(PEOPLE, start=1)
    ]
    response = tenant_a.client("admin").post(
        f"/{kobe.slug}/dashboard/staff/",
        upload(make_csv(rows, TOKYO_PATIENT_HEADER), dataset="patients"),
    )
    page = response.content.decode()
    assert response.status_code == 200, page
    assert "<caption>読み替えた値（国の項目定義に合わせて保存しました）</caption>" in page
    assert '<tr><td>患者_年代</td><td>90代</td><td>90歳以上</td><td class="num">2</td></tr>' in page
    assert (
        '<tr><td>患者_性別</td><td>調査中</td><td>空欄（不明）</td><td class="num">1</td></tr>'
        in page
    )
