"""``madoguchi totp code USERNAME`` prints the current one-time code of a demo account.

Meant for demos and for an operator's own test accounts: it reads the authenticator secret
from the database, so it proves nothing about who holds the phone. ``totp reset USERNAME``
removes a user's authenticator so they enrol again at their next sign-in.
"""

from __future__ import annotations

from argparse import ArgumentParser
from typing import Any

from django.core.management.base import BaseCommand, CommandError
from django_otp.oath import TOTP
from django_otp.plugins.otp_totp.models import TOTPDevice

from madoguchi.accounts.models import User
from madoguchi.audit.services import AuditActor, audit_event


class Command(BaseCommand):
    help = "Print a user's current TOTP code (demo), or reset their authenticator."

    def add_arguments(self, parser: ArgumentParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        sub.add_parser("code", help="print the current code").add_argument("username")
        sub.add_parser("reset", help="remove the authenticator").add_argument("username")

    def handle(self, *args: Any, **options: Any) -> None:
        user = User.objects.filter(username=options["username"]).first()
        if user is None:
            raise CommandError(f"no user named {options['username']!r}")
        if options["action"] == "reset":
            deleted, _ = TOTPDevice.objects.filter(user=user).delete()
            audit_event(
                municipality=None,
                action="auth.otp_reset",
                actor=AuditActor(label="cli:totp"),
                obj=user,
            )
            self.stdout.write(f"removed {deleted} authenticator(s) of {user.username}")
            return
        device = TOTPDevice.objects.filter(user=user, confirmed=True).first()
        if device is None:
            raise CommandError(f"{user.username} has no confirmed authenticator")
        totp = TOTP(device.bin_key, device.step, device.t0, device.digits, device.drift)
        self.stdout.write(f"{totp.token():0{device.digits}d}")
