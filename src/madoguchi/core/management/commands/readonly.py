"""``madoguchi readonly on|off|status``: the operator's switch for read-only mode.

It writes or removes the flag file (``MADOGUCHI_READ_ONLY_FILE``) that every server process and
task worker re-reads every ``MADOGUCHI_READ_ONLY_CHECK_SECONDS``; no restart is needed.
"""

from __future__ import annotations

from argparse import ArgumentParser
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from madoguchi.core.readonly import describe, read_only_state, read_only_switch

_MAX_REASON = 200


class Command(BaseCommand):
    help = "Switch read-only mode on or off for every server sharing the flag file, or show it."

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("action", choices=["on", "off", "status"])
        parser.add_argument(
            "--reason", default="", help="a note kept in the flag file (shown by status)"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        action = str(options["action"])
        reason = " ".join(str(options["reason"]).split())
        if len(reason) > _MAX_REASON:
            raise CommandError(f"--reason is longer than {_MAX_REASON} characters")
        if action == "status":
            self.stdout.write(describe(read_only_state()))
            return
        if reason and action == "off":
            raise CommandError("--reason goes with 'on' only")
        try:
            state = read_only_switch(on=action == "on", reason=reason)
        except OSError as exc:
            raise CommandError(
                f"cannot {'write' if action == 'on' else 'remove'} the flag file "
                f"{settings.READ_ONLY_FILE}: {exc.strerror or exc}"
            ) from None
        self.stdout.write(describe(state))
        if action == "off" and state.active:
            # The flag file is gone but the setting keeps the mode on.
            raise CommandError("MADOGUCHI_READ_ONLY is set: unset it and restart to end the mode")
        if action == "on":
            self.stdout.write(
                f"every process sharing the flag file follows within "
                f"{settings.READ_ONLY_CHECK_SECONDS} s"
            )
