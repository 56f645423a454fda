"""The admin console's FAQ pages: editing, trying a question, rebuilding the index."""

from __future__ import annotations

import datetime
import re
import signal
from collections.abc import Iterator, Sequence

import pytest
from django.core.management import call_command
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from madoguchi.audit.models import AuditEntry
from madoguchi.audit.services import AuditActor
from madoguchi.consultation.assistant import (
    ANSWER_THRESHOLD,
    Decision,
    assistant_explain,
    assistant_handle_text,
    conversation_open,
)
from madoguchi.consultation.index_builds import index_build_run, index_build_start
from madoguchi.consultation.models import (
    Channel,
    Conversation,
    FaqEntry,
    IndexBuild,
    IndexBuildState,
    Message,
    Outcome,
)
from madoguchi.consultation.retrieval.embedding import Vectors, embedders
from madoguchi.consultation.retrieval.index import texts_to_embed
from madoguchi.consultation.selectors import faq_entries_for_index, knowledge_version
from madoguchi.tenants.contacts import ContactInput, contact_point_save
from tests.consultation.test_staff import CountingEmbedder
from tests.isolation import Tenant, assert_cannot_change, assert_cannot_read, snapshot

pytestmark = pytest.mark.django_db

TRY = "/{slug}/chat/staff/faq/try/"
INDEX = "/{slug}/chat/staff/faq/index/"


@pytest.fixture
def embedder() -> Iterator[CountingEmbedder]:
    """A small deterministic embedder, so that scores are hybrid and tests stay fast."""
    counting = CountingEmbedder()
    with embedders.use(counting):
        yield counting


def _conversation_rows() -> tuple[int, int]:
    return Conversation.objects.count(), Message.objects.count()


# --- editing entries is reachable from the list ------------------------------------------------


def test_an_admin_edits_an_entry_from_the_list(kobe_kb: Tenant) -> None:
    admin = kobe_kb.client("admin")
    listing = admin.get("/kobe/chat/staff/faq/").content.decode()
    entry = FaqEntry.objects.filter(municipality=kobe_kb.municipality).order_by("pk").first()
    assert entry is not None
    edit_url = f"/kobe/chat/staff/faq/{entry.pk}/"
    assert f'href="{edit_url}"' in listing
    assert 'href="/kobe/chat/staff/faq/try/"' in listing
    assert 'href="/kobe/chat/staff/faq/index/"' in listing
    form = admin.get(edit_url)
    assert form.status_code == 200
    response = admin.post(
        edit_url,
        {
            "code": entry.code,
            "category": entry.category,
            "department": entry.department.code if entry.department else "",
            "question": entry.question,
            "alternatives": "\n".join(entry.alternatives),
            "answer": "新しい回答です。",
            "is_published": "on",
        },
    )
    assert response.status_code == 302
    entry.refresh_from_db()
    assert entry.answer == "新しい回答です。"
    assert AuditEntry.objects.filter(action="consultation.faq.update").count() == 1


# --- trying a question --------------------------------------------------------------------------


def test_the_try_page_shows_candidates_scores_threshold_and_stores_nothing(
    kobe_kb: Tenant, embedder: CountingEmbedder
) -> None:
    question = "大きな家具を捨てたい"
    expected = assistant_explain(municipality=kobe_kb.municipality, text=question)
    assert expected.match is not None
    assert expected.match.result.mode == "hybrid"
    before = (_conversation_rows(), AuditEntry.objects.count(), snapshot(FaqEntry.objects.all()))

    response = kobe_kb.client("admin").get(TRY.format(slug="kobe"), {"q": question})

    assert response.status_code == 200
    body = response.content.decode()
    table = body[body.index('id="candidates"') :]
    for hit, entry in zip(expected.match.result.hits, expected.match.ranked, strict=True):
        assert entry.question in table
        assert f"{hit.score:.3f}" in table
        assert hit.dense is not None
        assert f"{hit.dense:.3f}" in table
    assert len(expected.match.ranked) == 5
    assert f"{expected.match.result.confidence:.3f}" in body
    assert f"{ANSWER_THRESHOLD:.2f}（以上なら回答）" in body
    label = {
        Decision.ANSWER: "回答する</span> 確信度",
        Decision.ASK: "候補を示して確認する</span> 確信度",
        Decision.HANDOVER: "担当者につなぐ</span> 当てはまるFAQが見つからない",
    }[expected.decision]
    assert label in body
    assert (
        _conversation_rows(),
        AuditEntry.objects.count(),
        snapshot(FaqEntry.objects.all()),
    ) == before


@pytest.mark.parametrize(
    ("question", "decision", "shown"),
    [
        ("担当者と話したい", Decision.HANDOVER, "担当者の受付箱に引き継ぎます"),
        ("12345-67890 ABCD-EFGH", Decision.STATUS, "申請の状況を照会します"),
        ("あ" * 1001, Decision.HANDOVER, "質問は1000文字以内で入力してください"),
    ],
)
def test_the_try_page_explains_questions_that_never_reach_the_faq(
    kobe_kb: Tenant, question: str, decision: Decision, shown: str
) -> None:
    with embedders.use(None):
        assert assistant_explain(municipality=kobe_kb.municipality, text=question).decision == (
            decision
        )
        response = kobe_kb.client("admin").get(TRY.format(slug="kobe"), {"q": question})
    assert response.status_code == 200
    assert shown in response.content.decode()
    assert _conversation_rows() == (0, 0)


def test_the_answer_shown_names_the_contact_point_as_the_resident_gets_it(
    tenant_a: Tenant,
) -> None:
    """The try page shows the reply a resident would read: {contact:key} filled in."""
    contact_point_save(
        municipality=tenant_a.municipality,
        key="sodai_gomi",
        data=ContactInput(name="粗大ごみ受付センター", phone="078-555-0103"),
        actor=AuditActor(label="test"),
    )
    FaqEntry.objects.create(
        municipality=tenant_a.municipality,
        code="sodai",
        category="ごみ",
        question="粗大ごみを出したい",
        answer="収集を申し込めます。{contact:sodai_gomi}",
    )
    question = "粗大ごみを出したい"
    with embedders.use(None):
        assert (
            assistant_explain(municipality=tenant_a.municipality, text=question).decision
            == Decision.ANSWER
        )
        conversation = conversation_open(municipality=tenant_a.municipality, channel=Channel.WEB)
        reply = assistant_handle_text(conversation=conversation, text=question)
        response = tenant_a.client("admin").get(TRY.format(slug="kobe"), {"q": question})

    body = response.content.decode()
    shown = body[body.index('class="answer-preview"') :]
    shown = shown[: shown.index("</blockquote>")]
    assert "粗大ごみ受付センター（電話 078-555-0103）" in reply.text
    assert "粗大ごみ受付センター（電話 078-555-0103）" in shown
    assert "{contact:" not in shown


@pytest.mark.parametrize(
    "question",
    ["粗大ごみを出すにはどうすればよいですか", "大きな家具を捨てたい", "宇宙旅行の補助金"],
)
def test_the_explanation_agrees_with_what_the_assistant_does(
    kobe_kb: Tenant, embedder: CountingEmbedder, question: str
) -> None:
    explained = assistant_explain(municipality=kobe_kb.municipality, text=question)
    conversation = conversation_open(municipality=kobe_kb.municipality, channel=Channel.WEB)
    reply = assistant_handle_text(conversation=conversation, text=question)
    expected = {
        Decision.ANSWER: Outcome.ANSWERED,
        Decision.ASK: Outcome.LOW_CONFIDENCE,
        Decision.HANDOVER: Outcome.NO_MATCH,
    }[explained.decision]
    assert reply.outcome == expected


def test_another_municipality_sees_only_its_own_entries(
    tenant_b: Tenant, kobe_kb: Tenant, embedder: CountingEmbedder
) -> None:
    response = tenant_b.client("admin").get(TRY.format(slug="sayo"), {"q": "粗大ごみの出し方"})
    ids = {int(i) for i in re.findall(r"/sayo/chat/staff/faq/(\d+)/", response.content.decode())}
    assert ids
    assert ids <= set(
        FaqEntry.objects.filter(municipality=tenant_b.municipality).values_list("pk", flat=True)
    )
    assert "/kobe/" not in response.content.decode()


# --- the index ----------------------------------------------------------------------------------


class RecordingEmbedder(CountingEmbedder):
    """Records the build's progress as stored at each call."""

    name = "recording-test"

    def __init__(self) -> None:
        super().__init__()
        self.progress: list[int] = []

    def _vectors(self, texts: Sequence[str]) -> Vectors:
        self.progress.append(IndexBuild.objects.get().done)
        return super()._vectors(texts)


def test_a_rebuild_records_its_progress_and_the_page_shows_it(kobe_kb: Tenant) -> None:
    admin = kobe_kb.client("admin")
    response = admin.post(INDEX.format(slug="kobe"))
    assert response.status_code == 302
    build = IndexBuild.objects.get()
    assert (build.state, build.requested_by) == (IndexBuildState.QUEUED, "kobe-admin")
    [event] = AuditEntry.objects.filter(action="consultation.index.rebuild")
    assert event.object_id == str(build.pk)
    page = admin.get(INDEX.format(slug="kobe")).content.decode()
    assert '<meta http-equiv="refresh" content="3">' in page
    assert "開始を待っています" in page
    assert "索引を作り直す" not in page

    embedder = RecordingEmbedder()
    version_before = knowledge_version(municipality=kobe_kb.municipality)
    with embedders.use(embedder):
        index_build_run(build_id=build.pk)

    build.refresh_from_db()
    entries = FaqEntry.objects.filter(municipality=kobe_kb.municipality, is_published=True)
    # Each phrasing the model reads (an entry's first English phrasing only) and each answer.
    embedded, answers = texts_to_embed(faq_entries_for_index(municipality=kobe_kb.municipality))
    phrasings = len(dict.fromkeys(embedded))
    texts = phrasings + len(dict.fromkeys(answers))
    assert (build.state, build.done, build.total, build.entries, build.mode) == (
        IndexBuildState.DONE,
        texts,
        texts,
        entries.count(),
        "hybrid",
    )
    # Each chunk of 256 texts was recorded before the next one was embedded.
    assert embedder.progress == [
        *range(0, phrasings, 256),
        *(phrasings + start for start in range(0, entries.count(), 256)),
    ]
    assert build.knowledge_version == version_before + 1
    page = admin.get(INDEX.format(slug="kobe")).content.decode()
    assert "変更なし" in page
    assert "refresh" not in page
    assert f"{texts} 件の文" in page

    entry = entries.first()
    assert entry is not None
    admin.post(f"/kobe/chat/staff/faq/{entry.pk}/", {"action": "delete"})
    page = admin.get(INDEX.format(slug="kobe")).content.decode()
    assert "その後FAQか同義語が変更されました" in page


def test_a_second_rebuild_while_one_runs_is_refused(kobe_kb: Tenant) -> None:
    admin = kobe_kb.client("admin")
    admin.post(INDEX.format(slug="kobe"))
    state = (snapshot(IndexBuild.objects.all()), AuditEntry.objects.count())

    response = kobe_kb.client("admin").post(INDEX.format(slug="kobe"))

    assert response.status_code == 409
    assert "索引の再構築はすでに実行中です。" in response.content.decode()
    assert (snapshot(IndexBuild.objects.all()), AuditEntry.objects.count()) == state


def test_the_database_refuses_two_unfinished_builds(kobe_kb: Tenant) -> None:
    from django.db import IntegrityError, transaction

    IndexBuild.objects.create(municipality=kobe_kb.municipality)
    with pytest.raises(IntegrityError), transaction.atomic():
        IndexBuild.objects.create(municipality=kobe_kb.municipality, state=IndexBuildState.RUNNING)


def test_a_build_that_stopped_moving_does_not_block_a_new_one(kobe_kb: Tenant) -> None:
    from madoguchi.audit.services import AuditActor

    old = index_build_start(municipality=kobe_kb.municipality, actor=AuditActor(label="t"))
    IndexBuild.objects.filter(pk=old.pk).update(
        updated_at=timezone.now() - datetime.timedelta(minutes=16)
    )
    new = index_build_start(municipality=kobe_kb.municipality, actor=AuditActor(label="t"))
    old.refresh_from_db()
    assert (old.state, new.state) == (IndexBuildState.FAILED, IndexBuildState.QUEUED)
    assert "no progress for 15 minutes" in old.error


def test_a_build_runs_once(kobe_kb: Tenant) -> None:
    from madoguchi.audit.services import AuditActor

    build = index_build_start(municipality=kobe_kb.municipality, actor=AuditActor(label="t"))
    with embedders.use(None):
        assert index_build_run(build_id=build.pk) is not None
        assert index_build_run(build_id=build.pk) is None
    build.refresh_from_db()
    assert (build.state, build.mode) == (IndexBuildState.DONE, "lexical")


@pytest.fixture
def signal_handlers() -> Iterator[None]:
    """db_worker installs its own SIGINT/SIGTERM handlers; put the test runner's back."""
    saved = {s: signal.getsignal(s) for s in (signal.SIGINT, signal.SIGTERM, signal.SIGQUIT)}
    yield
    for number, handler in saved.items():
        signal.signal(number, handler)


@pytest.mark.django_db(transaction=True)
def test_the_task_worker_runs_the_rebuild(kobe_kb: Tenant, signal_handlers: None) -> None:
    kobe_kb.client("admin").post(INDEX.format(slug="kobe"))
    [task] = DBTaskResult.objects.all()
    assert task.task_path == "madoguchi.consultation.tasks.rebuild_index"
    with embedders.use(None):
        call_command("db_worker", "--batch", "--no-startup-delay", "--no-reload", verbosity=0)
    task.refresh_from_db()
    assert task.return_value == "done"
    assert IndexBuild.objects.get().state == IndexBuildState.DONE


# --- roles and isolation ------------------------------------------------------------------------


@pytest.mark.parametrize("role", ["clerk", "viewer"])
def test_clerks_and_viewers_get_403(kobe_kb: Tenant, role: str) -> None:
    client = kobe_kb.client(role)
    assert client.get(TRY.format(slug="kobe"), {"q": "粗大ごみ"}).status_code == 403
    assert client.get(INDEX.format(slug="kobe")).status_code == 403
    assert_cannot_change(
        client, INDEX.format(slug="kobe"), state=lambda: snapshot(IndexBuild.objects.all())
    )


def test_another_municipalitys_staff_cannot_read_or_rebuild(
    tenant_b: Tenant, kobe_kb: Tenant
) -> None:
    intruder = tenant_b.client("admin")
    assert_cannot_read(
        intruder, TRY.format(slug="kobe") + "?q=粗大ごみ", must_not_contain=["粗大ごみを出す"]
    )
    assert_cannot_read(intruder, INDEX.format(slug="kobe"))
    assert_cannot_change(
        intruder, INDEX.format(slug="kobe"), state=lambda: snapshot(IndexBuild.objects.all())
    )
    # B's own rebuild is B's alone and does not block A.
    assert intruder.post(INDEX.format(slug="sayo")).status_code == 302
    assert kobe_kb.client("admin").post(INDEX.format(slug="kobe")).status_code == 302
    assert sorted(IndexBuild.objects.values_list("municipality__slug", flat=True)) == [
        "kobe",
        "sayo",
    ]
