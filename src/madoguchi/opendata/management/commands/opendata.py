"""``madoguchi opendata``: import and export the national formats, refresh procedure statistics.

madoguchi opendata import --municipality 281000 --kind call_center FILE [--good-rows]
madoguchi opendata export --municipality 281000 --kind patients [--json] [--no-bom] [-o FILE]
madoguchi opendata refresh [--municipality 281000]
madoguchi opendata licence --municipality 281000 CC-BY-4.0
"""

from __future__ import annotations

import sys
from argparse import ArgumentParser
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from madoguchi.audit.services import AuditActor
from madoguchi.core.checkdigits import CheckDigitError, validate_lgcode
from madoguchi.opendata import services
from madoguchi.opendata.catalogue import DATASETS
from madoguchi.opendata.exports import iter_csv, iter_json
from madoguchi.opendata.models import NATIONAL_DATASETS, Licence
from madoguchi.opendata.report import ImportMode
from madoguchi.tenants.models import Municipality
from madoguchi.tenants.selectors import municipality_get_by_code, municipality_list_active

ACTOR = AuditActor(label="cli")


def _municipality(code: str) -> Municipality:
    try:
        code = validate_lgcode(code)
    except CheckDigitError as exc:
        raise CommandError(f"--municipality: {exc}") from None
    municipality = municipality_get_by_code(code=code)
    if municipality is None:
        raise CommandError(
            f"--municipality: no municipality {code} here (load it: madoguchi municipalities load)"
        )
    return municipality


class Command(BaseCommand):
    help = "Open data in the national COVID-19 formats: import, export, refresh, licence."

    def add_arguments(self, parser: ArgumentParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        kinds = [str(d) for d in NATIONAL_DATASETS]
        load = sub.add_parser("import", help="import a CSV file (all-or-nothing by default)")
        load.add_argument("--municipality", metavar="CODE", required=True)
        load.add_argument("--kind", choices=kinds, required=True)
        load.add_argument("file", type=Path)
        load.add_argument(
            "--good-rows", action="store_true", help="store the good rows and skip the bad ones"
        )
        dump = sub.add_parser("export", help="write a dataset in the national format")
        dump.add_argument("--municipality", metavar="CODE", required=True)
        dump.add_argument("--kind", choices=[str(d) for d in DATASETS], required=True)
        dump.add_argument("--json", action="store_true", help="JSON instead of CSV")
        dump.add_argument("--no-bom", action="store_true", help="CSV without the UTF-8 BOM")
        dump.add_argument("-o", "--output", type=Path, help="file to write (default: stdout)")
        refresh = sub.add_parser("refresh", help="recompute the procedure statistics")
        refresh.add_argument("--municipality", metavar="CODE", help="default: every served one")
        licence = sub.add_parser("licence", help="set the licence of a municipality's data")
        licence.add_argument("--municipality", metavar="CODE", required=True)
        licence.add_argument("licence", choices=list(Licence.values))

    def handle(self, *args: Any, **options: Any) -> None:
        action = options["action"]
        if action == "import":
            self._import(options)
        elif action == "export":
            self._export(options)
        elif action == "refresh":
            code = options.get("municipality")
            targets = [_municipality(code)] if code else list(municipality_list_active())
            for municipality in targets:
                changed = services.procedure_stats_refresh(municipality=municipality)
                self.stdout.write(
                    f"{municipality.code} {municipality.name}: {changed} rows changed"
                )
        else:
            municipality = _municipality(options["municipality"])
            changed = services.publisher_licence_set(
                municipality=municipality, licence=options["licence"], actor=ACTOR
            )
            self.stdout.write("licence set" if changed else "licence unchanged")

    def _import(self, options: dict[str, Any]) -> None:
        municipality = _municipality(options["municipality"])
        path: Path = options["file"]
        try:
            data = path.read_bytes()
        except OSError as exc:
            raise CommandError(f"cannot read {path}: {exc.strerror}") from None
        report = services.dataset_import(
            municipality=municipality,
            dataset=options["kind"],
            data=data,
            mode=ImportMode.GOOD_ROWS if options["good_rows"] else ImportMode.ALL_OR_NOTHING,
            actor=ACTOR,
            filename=path.name,
        )
        for line in report.lines():
            self.stdout.write(line)
        if not report.imported:
            raise CommandError(report.summary)

    def _export(self, options: dict[str, Any]) -> None:
        municipality = _municipality(options["municipality"])
        if options["json"]:
            chunks = iter_json(municipality, options["kind"])
        else:
            chunks = iter_csv(municipality, options["kind"], bom=not options["no_bom"])
        output: Path | None = options.get("output")
        if output is None:
            for chunk in chunks:
                sys.stdout.buffer.write(chunk)
            sys.stdout.buffer.flush()
            return
        with output.open("wb") as handle:
            for chunk in chunks:
                handle.write(chunk)
        self.stderr.write(f"wrote {output}")
