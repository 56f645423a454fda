"""``madoguchi reencrypt``: rewrite every encrypted value under the newest key.

Run after adding a key at the end of MADOGUCHI_FIELD_KEYS; afterwards the old keys can be
removed. Rewritten rows get their blind indexes recomputed; ``--reindex`` rewrites every row,
which is needed after changing MADOGUCHI_BLIND_INDEX_KEY.
"""

from __future__ import annotations

from argparse import ArgumentParser
from typing import Any

from django.core.management.base import BaseCommand

from madoguchi.audit.services import AuditActor, audit_event
from madoguchi.core.encryption_maintenance import reencrypt_all


class Command(BaseCommand):
    help = "Re-encrypt all encrypted fields with the newest key in MADOGUCHI_FIELD_KEYS."

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("--batch-size", type=int, default=500)
        parser.add_argument(
            "--dry-run", action="store_true", help="count what would change, change nothing"
        )
        parser.add_argument(
            "--reindex",
            action="store_true",
            help="rewrite every row and recompute blind indexes (after changing"
            " MADOGUCHI_BLIND_INDEX_KEY)",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        results = reencrypt_all(
            batch_size=options["batch_size"],
            dry_run=options["dry_run"],
            reindex=options["reindex"],
        )
        total = 0
        for result in results:
            total += result.rewritten
            self.stdout.write(
                f"{result.model}: {result.rewritten} of {result.rows} row(s)"
                f" {'to re-encrypt' if options['dry_run'] else 're-encrypted'}"
            )
        if not results:
            self.stdout.write("no model has encrypted fields")
        if not options["dry_run"]:
            audit_event(
                municipality=None,
                action="crypto.reencrypt",
                actor=AuditActor(label="cli:reencrypt"),
                data={r.model: r.rewritten for r in results},
            )
        self.stdout.write(f"done: {total} row(s)")
