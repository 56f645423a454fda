"""Rebuilding a municipality's FAQ search index in the background, with its progress.

An admin starts a rebuild from the console (:func:`index_build_start`); the task worker runs
:func:`index_build_run`, which embeds every phrasing and answer that is not cached yet in
small batches and records ``done``/``total`` after each, so the page can show how far it got.
Afterwards the knowledge base's version is bumped: every app server then rebuilds its
in-memory index, from cached vectors only (seconds, not minutes). Without an embedding model
the rebuild is lexical and the progress jumps to the end.
"""

from __future__ import annotations

import datetime
import logging
from collections.abc import Callable
from typing import Final

from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from madoguchi.audit.services import AuditActor, audit_event
from madoguchi.consultation.errors import ConsultationError, ConsultationErrorCode
from madoguchi.consultation.models import IndexBuild, IndexBuildState
from madoguchi.consultation.retrieval.embedding import embedders
from madoguchi.consultation.retrieval.index import texts_to_embed
from madoguchi.consultation.retrieval.store import (
    index_for,
    terms_prepared_meanwhile,
    vectors_prepare,
)
from madoguchi.consultation.selectors import faq_entries_for_index, knowledge_version
from madoguchi.consultation.services import knowledge_touch
from madoguchi.tenants.models import Municipality

__all__ = [
    "STALE_AFTER",
    "index_build_last_done",
    "index_build_latest",
    "index_build_run",
    "index_build_start",
    "index_is_current",
    "index_vectors_prepare",
]

logger = logging.getLogger(__name__)

# A build whose row has not moved for this long lost its worker (a restart, a crash).
STALE_AFTER: Final = datetime.timedelta(minutes=15)
# Texts per chunk of the build: the model reads a chunk's texts grouped by length, and the more
# texts it has to group the less it pads (32: 13 % of the tokens at 5,000 entries, 256: 4 %);
# the progress still moves about every two seconds.
_BATCH: Final = 256


def index_build_latest(*, municipality: Municipality) -> IndexBuild | None:
    return (
        IndexBuild.objects.filter(municipality=municipality).order_by("-created_at", "-pk").first()
    )


def index_build_last_done(*, municipality: Municipality) -> IndexBuild | None:
    return (
        IndexBuild.objects.filter(municipality=municipality, state=IndexBuildState.DONE)
        .order_by("-finished_at", "-pk")
        .first()
    )


def _abandon_stale(municipality: Municipality) -> None:
    IndexBuild.objects.filter(
        municipality=municipality,
        state__in=[IndexBuildState.QUEUED, IndexBuildState.RUNNING],
        updated_at__lt=timezone.now() - STALE_AFTER,
    ).update(
        state=IndexBuildState.FAILED,
        finished_at=timezone.now(),
        error="no progress for 15 minutes: the task worker stopped or never picked it up",
    )


def _refused() -> ConsultationError:
    return ConsultationError(
        ConsultationErrorCode.INDEX_BUILD_RUNNING,
        _("索引の再構築はすでに実行中です。終わってから、もう一度お試しください。"),
    )


def index_build_start(*, municipality: Municipality, actor: AuditActor) -> IndexBuild:
    """Queue a rebuild; refused (ConsultationError) while another one is unfinished."""
    from madoguchi.consultation import tasks

    with transaction.atomic():
        _abandon_stale(municipality)
        if IndexBuild.objects.filter(
            Q(state=IndexBuildState.QUEUED) | Q(state=IndexBuildState.RUNNING),
            municipality=municipality,
        ).exists():
            raise _refused()
        try:
            with transaction.atomic():
                build = IndexBuild.objects.create(
                    municipality=municipality, requested_by=actor.user_label
                )
        except IntegrityError:
            raise _refused() from None  # another admin's start won the race
        audit_event(
            municipality=municipality,
            action="consultation.index.rebuild",
            actor=actor,
            obj=build,
        )
        build_id = build.pk
        transaction.on_commit(lambda: tasks.rebuild_index.enqueue(build_id=build_id))
    return build


def _progress(build_id: int, **fields: object) -> None:
    IndexBuild.objects.filter(pk=build_id).update(updated_at=timezone.now(), **fields)


def index_vectors_prepare(
    *, municipality: Municipality, progress: Callable[[int, int], None] | None = None
) -> tuple[int, int]:
    """Embed and store what the municipality's index lacks; (entries, distinct texts).

    Each distinct phrasing and answer is embedded once, only when no app server stored its
    vector before, on ``MADOGUCHI_CONSULTATION_BUILD_THREADS`` threads; ``progress(done,
    total)`` follows it. Without an embedding model nothing is embedded.
    """
    entries = faq_entries_for_index(municipality=municipality)
    phrasings, answers = texts_to_embed(entries)
    texts = [(t, "query") for t in phrasings] + [(t, "passage") for t in answers]
    total = len(dict.fromkeys(texts))
    if progress is not None:
        progress(0, total)
    embedder = embedders.current()
    if embedder is not None:
        # The lexical index's terms (every phrasing and the whole answer) on a third thread.
        lexical = [t for e in entries for t in (*e.phrasings, e.answer)]
        with terms_prepared_meanwhile(lexical):
            vectors_prepare(embedder, texts, progress=progress, batch=_BATCH)
    return len(entries), total


def index_build_run(*, build_id: int) -> IndexBuild | None:
    """Run a queued build (the task's body); None when it was not waiting to run."""
    claimed = IndexBuild.objects.filter(pk=build_id, state=IndexBuildState.QUEUED).update(
        state=IndexBuildState.RUNNING, started_at=timezone.now(), updated_at=timezone.now()
    )
    if not claimed:
        return None
    build = IndexBuild.objects.select_related("municipality").get(pk=build_id)
    municipality = build.municipality
    try:

        def record(done: int, total: int) -> None:
            _progress(build_id, done=done, total=total)

        entries, total = index_vectors_prepare(municipality=municipality, progress=record)
        _progress(build_id, total=total, entries=entries)
        # Every app server rebuilds on the new version, now from cached vectors only.
        version = knowledge_touch(municipality=municipality)
        index = index_for(municipality)
        _progress(
            build_id,
            state=IndexBuildState.DONE,
            done=total,
            knowledge_version=version,
            mode=index.mode,
            finished_at=timezone.now(),
        )
    except Exception as exc:
        logger.exception("rebuilding the FAQ index of %s failed", municipality.code)
        _progress(
            build_id,
            state=IndexBuildState.FAILED,
            error=f"{type(exc).__name__}: {exc}"[:300],
            finished_at=timezone.now(),
        )
        raise
    build.refresh_from_db()
    return build


def index_is_current(*, municipality: Municipality, build: IndexBuild | None) -> bool:
    """Whether no entry or synonym changed since ``build`` finished."""
    return build is not None and build.knowledge_version == knowledge_version(
        municipality=municipality
    )
