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
from madoguchi.consultation.calibration import (
    DEFAULT_THRESHOLD,
    LEXICAL_THRESHOLD,
    confidence_calibrate,
    threshold_for,
)
from madoguchi.consultation.csvio import faq_export_csv, faq_import_csv
from madoguchi.consultation.errors import ConsultationError
from madoguchi.consultation.evaluation import (
    ALL_KINDS,
    DEMO_QUESTIONS,
    SECOND_FAQ,
    SECOND_QUESTIONS,
    EvalSet,
    Run,
    Tally,
    baseline_run,
    breakdown,
    csv_set,
    demo_set,
    retrieval_run,
    tally,
)
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
        ev = sub.add_parser(
            "evaluate",
            help="top-1/top-3, confident mistakes and refusals on the evaluation sets, by kind",
        )
        ev.add_argument(
            "--set",
            choices=["demo", "second", "all"],
            default="all",
            help="demo: the demo FAQ of 神戸市; second: the FAQ of 東浜市 it was never tuned on",
        )
        ev.add_argument("--file", default=str(DEMO_QUESTIONS), help="questions of the demo set")
        ev.add_argument("--faq", help="evaluate this FAQ CSV (import format) instead of the sets")
        ev.add_argument("--questions", help="the questions (TSV) for --faq")
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
        ca = sub.add_parser(
            "calibrate",
            help="set the answering threshold from residents' and staff's labelled questions",
        )
        ca.add_argument("municipality", nargs="?", help="slug (default: every active one)")
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

    def _targets(self, slug: str | None) -> list[Municipality]:
        if slug:
            return [self._municipality(slug)]
        return list(Municipality.objects.filter(is_active=True))

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
            elif action == "calibrate":
                for municipality in self._targets(options["municipality"]):
                    calibration = confidence_calibrate(municipality=municipality, actor=actor)
                    source = (
                        f"calibrated on {calibration.samples} labelled question(s)"
                        if calibration.samples
                        else "default: fewer than 30 labelled questions"
                    )
                    self.stdout.write(
                        f"{municipality.slug}: answers at confidence >= {calibration.hybrid:.2f}"
                        f" ({source})"
                    )
            elif action == "reindex":
                for municipality in self._targets(options["municipality"]):
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
        sets = self._evaluation_sets(options)
        configured = settings.CONSULTATION_EMBEDDER
        engine = configured if configured != "none" else "e5"
        embedder = None if options["lexical_only"] else embedders.get(engine)
        fusions = list(Fusion) if options["all_fusions"] else [Fusion.FUSED]
        for number, eval_set in enumerate(sets):
            if number:
                self.stdout.write("")
            self._evaluate_set(eval_set, embedder=embedder, fusions=fusions)

    def _evaluation_sets(self, options: dict[str, Any]) -> list[EvalSet]:
        try:
            if options["faq"] or options["questions"]:
                if not (options["faq"] and options["questions"]):
                    raise CommandError("--faq and --questions go together")
                faq = Path(options["faq"])
                return [csv_set(faq.stem, faq, Path(options["questions"]))]
            chosen = options["set"]
            sets = []
            if chosen in {"demo", "all"}:
                sets.append(demo_set(Path(options["file"])))
            if chosen in {"second", "all"}:
                sets.append(csv_set("second", SECOND_FAQ, SECOND_QUESTIONS))
            return sets
        except FileNotFoundError as exc:
            raise CommandError(
                f"{exc.filename} not found (run from the repository root or pass the path)"
            ) from None
        except ValueError as exc:
            raise CommandError(str(exc)) from None

    def _evaluate_set(self, eval_set: EvalSet, *, embedder: Any, fusions: list[Fusion]) -> None:
        out = self.stdout.write
        runs = [retrieval_run(eval_set, embedder=embedder, fusion=f) for f in fusions]
        assistant = runs[0]
        threshold = LEXICAL_THRESHOLD if assistant.mode == "lexical" else DEFAULT_THRESHOLD
        runs.append(baseline_run(eval_set))
        in_scope = sum(q.in_scope for q in eval_set.queries)
        out(
            f"== set {eval_set.name}: {eval_set.faq}, {len(eval_set.entries)} entries;"
            f" {len(eval_set.queries)} questions ({in_scope} in scope)"
        )
        fusion = (
            f" (dense + {LEXICAL_WEIGHT} x BM25/max, answer weight {ANSWER_WEIGHT})"
            if assistant.mode == "hybrid"
            else " (BM25 only: the fallback without the embedding model)"
        )
        out(
            f"mode {assistant.mode}{fusion}; index build {assistant.build_seconds:.1f} s;"
            f" answering threshold {threshold:.2f}"
        )
        out(f"{'method':<36} {'half':<9} {'n':>4} {'top-1':>7} {'top-3':>7}")
        for half in ("dev", "held-out"):
            for run in runs:
                t = tally((f for f in run.found if f.query.half == half), threshold=threshold)
                out(
                    f"{run.method:<36} {half:<9} {t.in_scope:>4}"
                    f" {t.rate(t.top1):>7.1%} {t.rate(t.top3):>7.1%}"
                )
        self._by_kind(assistant, threshold, "the default for a municipality without labels")
        if assistant.mode == "hybrid":
            # As a municipality whose residents and staff labelled the development half.
            dev = [(f.confidence, f.right) for f in assistant.found if f.query.half == "dev"]
            own = threshold_for(dev)
            self._by_kind(assistant, own, "calibrated on this set's development half")

    def _by_kind(self, run: Run, threshold: float, why: str) -> None:
        out = self.stdout.write
        out("")
        out(f"{run.method} by kind of wording, answering at confidence >= {threshold:.2f} ({why}):")
        out(
            f"{'half':<9} {'kind':<7} {'n':>4} {'top-1':>7} {'top-3':>7} {'answered':>9}"
            f" {'confidently wrong':>18} {'out-of-scope refused':>21}"
        )
        for (half, kind), t in breakdown(run.found, threshold=threshold).items():
            if t.questions:
                out(_tally_row(half if kind == ALL_KINDS else "", kind, t))


def _tally_row(half: str, kind: str, t: Tally) -> str:
    def share(count: int, *, of_all: bool = False) -> str:
        total = t.questions if of_all else t.in_scope
        return f"{count / total:.1%}" if total else "-"

    wrong = f"{t.confident_wrong} ({share(t.confident_wrong, of_all=True)})"
    refused = f"{t.refused}/{t.out_of_scope}" if t.out_of_scope else "-"
    return (
        f"{half:<9} {kind:<7} {t.questions:>4} {share(t.top1):>7} {share(t.top3):>7}"
        f" {share(t.answered):>9} {wrong:>18} {refused:>21}"
    )
