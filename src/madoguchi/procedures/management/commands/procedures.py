"""``madoguchi procedures load FILE... --municipality CODE``: publish procedure definitions."""

from __future__ import annotations

from argparse import ArgumentParser
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from madoguchi.audit.services import AuditActor
from madoguchi.core.checkdigits import CheckDigitError, validate_lgcode
from madoguchi.procedures.definition_source import DefinitionSourceInvalid
from madoguchi.procedures.publishing import procedure_load_yaml
from madoguchi.procedures.services import drafts_and_uploads_cleanup
from madoguchi.tenants.selectors import municipality_get_by_code


class Command(BaseCommand):
    help = (
        "Publish procedure definitions (YAML) for a municipality. A changed definition becomes "
        "a new version; an unchanged one changes nothing."
    )

    def add_arguments(self, parser: ArgumentParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        load = sub.add_parser("load", help="publish definitions from YAML files")
        load.add_argument("files", nargs="+", type=Path)
        load.add_argument("--municipality", required=True, metavar="CODE")
        load.add_argument(
            "--department", metavar="CODE", help="override the definition's department"
        )
        sub.add_parser("cleanup", help="delete expired drafts and unused uploads (run daily)")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["action"] == "cleanup":
            result = drafts_and_uploads_cleanup()
            self.stdout.write(
                f"deleted {result.drafts} expired draft(s), {result.attachments} unused"
                f" upload(s) and {result.files} file(s)"
            )
            return
        try:
            code = validate_lgcode(options["municipality"])
        except CheckDigitError as exc:
            raise CommandError(f"--municipality: {exc}") from None
        municipality = municipality_get_by_code(code=code)
        if municipality is None:
            raise CommandError(f"municipality {code} does not exist; load it first")
        failed = 0
        for path in options["files"]:
            try:
                version = procedure_load_yaml(
                    municipality=municipality,
                    text=path.read_text("utf-8"),
                    actor=AuditActor(label="cli:procedures"),
                    department=options["department"] or "",
                )
            except (OSError, UnicodeDecodeError) as exc:
                failed += 1
                self.stderr.write(f"{path}: {exc}")
                continue
            except DefinitionSourceInvalid as exc:
                failed += 1
                for problem in exc.problems:
                    where = f"{path}:{problem.line}:{problem.column}" if problem.line else f"{path}"
                    self.stderr.write(f"{where}: {problem.message}")
                continue
            self.stdout.write(f"{path}: {version.procedure.code} version {version.number}")
        if failed:
            raise CommandError(f"{failed} definition(s) refused; nothing was changed for them")
