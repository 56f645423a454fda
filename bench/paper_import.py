"""Benchmark: the paper-CSV import of 10,000 rows with 1 % bad rows.

    .venv/bin/python bench/paper_import.py [--rows 10000] [--keep]

It builds a fresh SQLite database in a temporary MADOGUCHI_DATA_DIR (never var/): migrate,
神戸市 (281000) with a 福祉課, and the catalogue's 特別定額給付金 without its file field. It then
generates a Shift_JIS CSV of ``--rows`` rows (every third with a household member, every 100th
refused in one of five ways, one of them a quoted cell spanning two lines), imports it twice
through ``applications_import_csv`` and prints, per import, wall and CPU time, rows/s, the
counts and the number of error lines of the report (the row lines, ``N行目``, must equal the
refused rows: 100 for 10,000). The second import must store nothing new. ``uptime`` is printed
before and after, since the machine may be shared. Figures are printed, never asserted; not
part of the test suite.
"""

from __future__ import annotations

import argparse
import copy
import csv
import io
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
PROCEDURE = "paper-kyufukin"
HEADER = [
    "name",
    "name_kana",
    "birth_date",
    "postal_code",
    "address",
    "phone",
    "email",
    "account.bank_code",
    "account.branch_code",
    "account.account_type",
    "account.account_number",
    "account.holder_name",
    "agreement",
    "members.1.name",
    "members.1.name_kana",
    "members.1.birth_date",
    "members.1.relationship",
]
BREAKERS: list[dict[str, str]] = [
    {"postal_code": "65"},
    {"name_kana": "kobe"},
    {"account.bank_code": "1"},
    {"birth_date": "2999-01-01"},
    {"address": "神戸市\n中央区"},  # two physical lines
]


def rows_csv(count: int) -> tuple[bytes, int]:
    """The file in Shift_JIS and the number of refused rows."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(HEADER)
    refused = 0
    for number in range(count):
        row = {
            "name": f"神戸　太郎{number}",
            "name_kana": "コウベ タロウ",
            "birth_date": "昭和55年4月1日",
            "postal_code": "650-8570",
            "address": f"神戸市中央区, {number}番",
            "phone": "078-331-8181",
            "account.bank_code": "0001",
            "account.branch_code": "001",
            "account.account_type": "普通",
            "account.account_number": "1234567",
            "account.holder_name": "コウベ タロウ",
            "agreement": "はい",
        }
        if number % 3 == 0:
            row.update({"members.1.name": "神戸 花子", "members.1.name_kana": "コウベ ハナコ"})
            row.update({"members.1.birth_date": "1982-05-06", "members.1.relationship": "配偶者"})
        if number % 100 == 42:
            row.update(BREAKERS[(number // 100) % len(BREAKERS)])
            refused += 1
        writer.writerow([row.get(c, "") for c in HEADER])
    return out.getvalue().encode("cp932"), refused


def uptime() -> str:
    return subprocess.run(["uptime"], capture_output=True, text=True, check=False).stdout.strip()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=10_000)
    parser.add_argument("--keep", action="store_true", help="keep the temporary data directory")
    args = parser.parse_args()
    data_dir = Path(tempfile.mkdtemp(prefix="madoguchi-bench-"))
    os.environ.update(
        MADOGUCHI_ENV="development",
        MADOGUCHI_DEBUG="0",
        MADOGUCHI_DATA_DIR=str(data_dir),
        MADOGUCHI_LOG_LEVEL="WARNING",
        DJANGO_SETTINGS_MODULE="madoguchi.settings",
    )
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    from django.core.management import call_command

    from madoguchi.audit.services import AuditActor
    from madoguchi.procedures.catalogue import catalogue_definition
    from madoguchi.procedures.intake import applications_import_csv
    from madoguchi.procedures.services import procedure_publish
    from madoguchi.tenants.services import department_ensure, municipalities_load

    try:
        call_command("migrate", verbosity=0)
        actor = AuditActor(label="bench")
        [kobe] = municipalities_load(codes=["281000"], activate=True, actor=actor)
        department_ensure(municipality=kobe, code="welfare", name="福祉課", actor=actor)
        data: dict[str, Any] = copy.deepcopy(catalogue_definition("teigaku-kyufukin"))
        data.update(code=PROCEDURE, department="welfare")
        for step in data["steps"]:
            step["fields"] = [f for f in step["fields"] if f["type"] != "file"]
        procedure = procedure_publish(municipality=kobe, data=data, actor=actor).procedure
        content, refused = rows_csv(args.rows)

        print(f"madoguchi paper-CSV import benchmark: {args.rows:,} rows, {refused} refused")
        print(f"uptime before: {uptime()}")
        for attempt in ("first", "second"):
            wall, cpu = time.perf_counter(), time.process_time()
            report = applications_import_csv(
                municipality=kobe, procedure=procedure, data=content, actor=actor
            )
            wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
            text = report.as_text().splitlines()
            error_lines = [line for line in text if line.endswith("行目")]
            print(
                f"{attempt} import: {wall:.1f} s wall, {cpu:.1f} s CPU, "
                f"{args.rows / wall:,.0f} rows/s; imported {report.imported:,}, "
                f"skipped {report.duplicates_skipped:,}, rejected {len(report.rejected)}, "
                f"file errors {len(report.file_errors)}; report: {len(error_lines)} row lines "
                f"(expected {refused}) in {len(text)} lines"
            )
        print(f"uptime after: {uptime()}")
    finally:
        if args.keep:
            print(f"data kept in {data_dir}")
        else:
            shutil.rmtree(data_dir, ignore_errors=True)


if __name__ == "__main__":
    main()
