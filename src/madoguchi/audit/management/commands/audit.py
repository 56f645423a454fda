"""``madoguchi audit verify [--municipality CODE]``: check the hash chains."""

from __future__ import annotations

from argparse import ArgumentParser
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from madoguchi.audit.selectors import audit_chain_verify, audit_chains
from madoguchi.core.checkdigits import CheckDigitError, validate_lgcode


class Command(BaseCommand):
    help = "Audit log tools. 'verify' walks the hash chains and names the first bad entry."

    def add_arguments(self, parser: ArgumentParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        verify = sub.add_parser("verify", help="verify the hash chains")
        verify.add_argument(
            "--municipality", metavar="CODE", help="6-digit code; default: every chain"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        code = options.get("municipality")
        if code is not None:
            try:
                code = validate_lgcode(code)
            except CheckDigitError as exc:
                raise CommandError(f"--municipality: {exc}") from None
        chains = audit_chains(municipality_code=code)
        failed = 0
        for chain in chains:
            report = audit_chain_verify(chain)
            if report.ok:
                self.stdout.write(f"chain {chain}: ok ({report.entries} entries)")
            else:
                failed += 1
                where = f"entry #{report.first_bad_seq}"
                if report.first_bad_id is not None:
                    where += f" (id {report.first_bad_id})"
                self.stdout.write(f"chain {chain}: BROKEN at {where}: {report.reason}")
        if not chains:
            self.stdout.write("no audit entries yet")
        if failed:
            raise CommandError(f"{failed} of {len(chains)} chain(s) failed verification")
