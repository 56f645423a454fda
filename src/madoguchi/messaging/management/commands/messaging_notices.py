"""madoguchi messaging_notices sweep | purge [--days N]: the notification log's upkeep."""

from __future__ import annotations

import datetime
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from madoguchi.audit.services import AuditActor
from madoguchi.messaging.notices import notices_deliver_due, notices_purge


class Command(BaseCommand):
    help = (
        "sweep: send every notice whose retry is due; "
        "purge: delete sent and failed notices older than --days (default 90)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("action", choices=["sweep", "purge"])
        parser.add_argument("--days", type=int, default=90)

    def handle(self, *args: Any, **options: Any) -> None:
        if options["action"] == "sweep":
            self.stdout.write(f"{notices_deliver_due()} notices sent")
            return
        days = options["days"]
        if days < 1:
            raise CommandError("--days must be at least 1")
        deleted = notices_purge(
            older_than=datetime.timedelta(days=days), actor=AuditActor(label="cli")
        )
        self.stdout.write(f"{deleted} notices deleted")
