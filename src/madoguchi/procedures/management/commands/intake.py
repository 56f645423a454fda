"""``madoguchi intake applications --municipality CODE --procedure CODE FILE``: paper intake."""

from __future__ import annotations

from argparse import ArgumentParser
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from madoguchi.audit.services import AuditActor
from madoguchi.core.checkdigits import CheckDigitError, validate_lgcode
from madoguchi.procedures.intake import applications_import_csv
from madoguchi.procedures.selectors import procedure_get_published
from madoguchi.tenants.selectors import municipality_get_by_code


class Command(BaseCommand):
    help = (
        "Import applications keyed from paper forms (CSV, UTF-8 or Shift_JIS, one row each). "
        "Rows already imported are skipped; the command fails when any row or the file is refused."
    )

    def add_arguments(self, parser: ArgumentParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        applications = sub.add_parser("applications", help="import applications from a CSV file")
        applications.add_argument("file", type=Path, metavar="FILE")
        applications.add_argument("--municipality", required=True, metavar="CODE")
        applications.add_argument("--procedure", required=True, metavar="CODE")
        applications.add_argument(
            "--paper-attachments",
            action="store_true",
            help="the documents (file fields) were received on paper; record that instead",
        )
        applications.add_argument(
            "--report-csv",
            type=Path,
            metavar="PATH",
            help="also write the findings as CSV (UTF-8 with BOM) to PATH",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            code = validate_lgcode(options["municipality"])
        except CheckDigitError as exc:
            raise CommandError(f"--municipality: {exc}") from None
        municipality = municipality_get_by_code(code=code)
        if municipality is None:
            raise CommandError(f"municipality {code} does not exist; load it first")
        procedure = procedure_get_published(municipality=municipality, code=options["procedure"])
        if procedure is None:
            raise CommandError(
                f"procedure {options['procedure']!r} is not published in {municipality.code}"
            )
        path: Path = options["file"]
        try:
            data = path.read_bytes()
        except OSError as exc:
            raise CommandError(f"{path}: {exc}") from None
        report = applications_import_csv(
            municipality=municipality,
            procedure=procedure,
            data=data,
            actor=AuditActor(label="cli:intake"),
            paper_attachments=options["paper_attachments"],
        )
        self.stdout.write(report.as_text(), ending="")
        if options["report_csv"] is not None:
            options["report_csv"].write_bytes(report.as_csv())
        if report.file_errors:
            raise CommandError(f"{path}: the file was refused; nothing was imported")
        if report.rejected:
            raise CommandError(
                f"{path}: {len(report.rejected)} row(s) refused; the other rows were imported"
            )
