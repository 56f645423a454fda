"""``madoguchi municipalities``: load bodies from the bundled LG_CODE list and serve them."""

from __future__ import annotations

from argparse import ArgumentParser
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from madoguchi.audit.services import AuditActor
from madoguchi.core.checkdigits import CheckDigitError
from madoguchi.tenants.services import municipalities_load


class Command(BaseCommand):
    help = (
        "Create municipalities from the bundled 全国地方公共団体コード list. "
        "Give 6-digit codes (with check digit), or --all."
    )

    def add_arguments(self, parser: ArgumentParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        load = sub.add_parser("load", help="create municipalities (and their parents)")
        load.add_argument("codes", nargs="*", metavar="CODE")
        load.add_argument("--all", action="store_true", help="every body in the list")
        load.add_argument(
            "--activate", action="store_true", help="serve the named municipalities at once"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        codes: list[str] = options["codes"]
        if options["all"] == bool(codes):
            raise CommandError("give either CODE ... or --all")
        try:
            loaded = municipalities_load(
                codes=None if options["all"] else codes,
                activate=options["activate"],
                actor=AuditActor(label="cli:municipalities"),
            )
        except CheckDigitError as exc:
            raise CommandError(str(exc)) from None
        except KeyError as exc:
            raise CommandError(f"not in the bundled list: {exc.args[0]}") from None
        for muni in loaded[:20]:
            state = "active" if muni.is_active else "inactive"
            self.stdout.write(f"{muni.code} {muni.name} /{muni.slug}/ ({state})")
        if len(loaded) > 20:
            self.stdout.write(f"... {len(loaded)} municipalities in all")
