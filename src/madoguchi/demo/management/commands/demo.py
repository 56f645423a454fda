"""``madoguchi demo load``: idempotent demo data, and how to sign in to it."""

from __future__ import annotations

from argparse import ArgumentParser
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from madoguchi.demo.services import DEMO_PASSWORD, demo_load


class Command(BaseCommand):
    help = "Load the demo municipalities and staff (safe to run again) and print the sign-in."

    def add_arguments(self, parser: ArgumentParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        load = sub.add_parser("load", help="create or find the demo data")
        load.add_argument("--base-url", default="http://127.0.0.1:8000")

    def handle(self, *args: Any, **options: Any) -> None:
        if settings.PRODUCTION:
            raise CommandError(
                "refusing to load demo accounts with published passwords when "
                "MADOGUCHI_ENV=production"
            )
        accounts = demo_load()
        base = options["base_url"].rstrip("/")
        out = self.stdout.write
        out("")
        out("madoguchi demo data is ready.")
        out(f"  site:         {base}/")
        out(f"  operator:     {base}/staff/login/ (then {base}/operator/)")
        for slug in dict.fromkeys(a.municipality for a in accounts if a.municipality):
            out(f"  staff login:  {base}/{slug}/staff/login/")
        out(f"  password (every demo account): {DEMO_PASSWORD}")
        out("  second factor: add a secret below to an authenticator app, or print the")
        out("  current code without a phone:  .venv/bin/madoguchi totp code USERNAME")
        out("")
        out(f"  {'username':<18} {'TOTP secret (base32)':<34} role / department")
        for a in accounts:
            out(f"  {a.username:<18} {a.totp_secret:<34} {a.role} / {a.department}")
        out("")
