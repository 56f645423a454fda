"""``madoguchi surveillance missing-reports|line-reminders [--day YYYY-MM-DD]``.

``missing-reports`` raises the "no report" alerts: run it from cron after the report deadline
(10:00 by the alert rule in force). ``line-reminders`` pushes the morning LINE reminder to
linked patients who have not reported yet and unlinks expired links: run it in the morning
(e.g. 08:00). Running either twice does nothing twice.
"""

from __future__ import annotations

import datetime
from argparse import ArgumentParser
from typing import Any

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from madoguchi.surveillance.linereminders import line_reminders_send
from madoguchi.surveillance.reports import alerts_raise_missing
from madoguchi.surveillance.selectors import bodies_with_health_centres


class Command(BaseCommand):
    help = (
        "Case register tools. 'missing-reports' raises alerts for cases without today's report; "
        "'line-reminders' pushes the morning LINE reminder to linked patients."
    )

    def add_arguments(self, parser: ArgumentParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        missing = sub.add_parser("missing-reports", help="raise no-report alerts")
        missing.add_argument("--day", metavar="YYYY-MM-DD", help="default: today")
        line = sub.add_parser("line-reminders", help="push the morning LINE reminders")
        line.add_argument("--day", metavar="YYYY-MM-DD", help="default: today")

    def handle(self, *args: Any, **options: Any) -> None:
        raw = options.get("day")
        try:
            day = datetime.date.fromisoformat(raw) if raw else timezone.localdate()
        except ValueError:
            raise CommandError(f"--day: not a date: {raw!r}") from None
        for municipality in bodies_with_health_centres():
            if options["action"] == "line-reminders":
                sent = line_reminders_send(municipality=municipality, day=day)
                self.stdout.write(f"{municipality.code} {municipality.name}: {sent} reminders")
            else:
                count = alerts_raise_missing(municipality=municipality, day=day)
                self.stdout.write(f"{municipality.code} {municipality.name}: {count} alerts")
