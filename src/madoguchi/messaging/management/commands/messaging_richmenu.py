"""madoguchi messaging_richmenu <slug> [--image FILE] [--dry-run]: build and upload the menu."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from madoguchi.audit.services import AuditActor
from madoguchi.messaging.errors import MessagingError
from madoguchi.messaging.richmenu import (
    rich_menu_image,
    rich_menu_request,
    rich_menu_tiles,
    rich_menu_upload,
)
from madoguchi.tenants.selectors import municipality_get_active


class Command(BaseCommand):
    help = "Build a municipality's LINE rich menu from its services and upload it as default."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("slug")
        parser.add_argument("--dry-run", action="store_true", help="print the menu, upload nothing")
        parser.add_argument("--image", type=Path, help="also write the menu's PNG here")

    def handle(self, *args: Any, **options: Any) -> None:
        municipality = municipality_get_active(slug=options["slug"])
        if municipality is None:
            raise CommandError(f"no active municipality {options['slug']!r}")
        tiles = rich_menu_tiles(municipality=municipality)
        if options["image"]:
            options["image"].write_bytes(rich_menu_image(tiles=tiles))
        if options["dry_run"]:
            request = rich_menu_request(municipality=municipality, tiles=tiles)
            self.stdout.write(json.dumps(request.to_dict(), ensure_ascii=False, indent=2))
            return
        try:
            menu_id = rich_menu_upload(municipality=municipality, actor=AuditActor(label="cli"))
        except MessagingError as exc:
            raise CommandError(exc.message) from exc
        self.stdout.write(menu_id)
