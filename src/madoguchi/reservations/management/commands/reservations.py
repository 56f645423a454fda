"""``madoguchi reservations resources|slots ...``: define resources and create their slots."""

from __future__ import annotations

import datetime
import json
from argparse import ArgumentParser
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from madoguchi.audit.services import AuditActor
from madoguchi.reservations import services
from madoguchi.reservations.errors import ReservationError
from madoguchi.reservations.models import Resource
from madoguchi.tenants.models import Municipality


class Command(BaseCommand):
    help = "Define reservable resources from a JSON file, or create their slots."

    def add_arguments(self, parser: ArgumentParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        resources = sub.add_parser("resources", help="create or update resources from JSON")
        resources.add_argument("file", type=Path, metavar="FILE")
        resources.add_argument("--municipality", required=True, metavar="SLUG")
        slots = sub.add_parser("slots", help="create slots from the weekly rules or a CSV file")
        slots.add_argument("--municipality", required=True, metavar="SLUG")
        slots.add_argument("--resource", required=True, metavar="CODE")
        slots.add_argument("--days", type=int, default=60)
        slots.add_argument("--csv", type=Path, metavar="FILE")

    def handle(self, *args: Any, **options: Any) -> None:
        municipality = Municipality.objects.filter(slug=options["municipality"]).first()
        if municipality is None:
            raise CommandError(f"no municipality {options['municipality']!r}")
        actor = AuditActor(label="cli")
        if options["action"] == "resources":
            try:
                data = json.loads(options["file"].read_text("utf-8"))
                count = services.resources_load(municipality=municipality, data=data, actor=actor)
            except (OSError, ValueError, KeyError, TypeError) as exc:
                raise CommandError(f"refused: {exc}") from None
            self.stdout.write(f"{count} resources saved")
            return
        resource = Resource.objects.filter(
            municipality=municipality, code=options["resource"]
        ).first()
        if resource is None:
            raise CommandError(f"no resource {options['resource']!r}")
        try:
            if options["csv"]:
                created = services.slots_import_csv(
                    resource=resource, text=options["csv"].read_text("utf-8-sig"), actor=actor
                )
            else:
                start = timezone.localdate()
                created = services.slots_generate(
                    resource=resource,
                    start=start,
                    end=start + datetime.timedelta(days=options["days"]),
                    actor=actor,
                )
        except (OSError, UnicodeDecodeError) as exc:
            raise CommandError(f"cannot read the file: {exc}") from None
        except ReservationError as refused:
            raise CommandError(refused.message) from None
        self.stdout.write(f"{created} slots created")
