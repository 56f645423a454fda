"""The answering threshold: calibrated per municipality on labelled questions; the fallback asks."""

from __future__ import annotations

from io import StringIO
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command
from django.test import Client

from madoguchi.audit.models import AuditEntry
from madoguchi.consultation.assistant import (
    Decision,
    assistant_explain,
    assistant_handle_action,
    assistant_handle_text,
    conversation_open,
)
from madoguchi.consultation.calibration import (
    DEFAULT_THRESHOLD,
    LEXICAL_THRESHOLD,
    MIN_SAMPLES,
    THRESHOLD_FLOOR,
    calibration_for,
    calibration_samples,
    threshold_for,
)
from madoguchi.consultation.evaluation import (
    csv_set,
    demo_index_entries,
    demo_set,
    retrieval_run,
    tally,
)
from madoguchi.consultation.models import (
    Channel,
    Conversation,
    FaqEntry,
    KnowledgeBase,
    Message,
    Outcome,
    Sender,
)
from madoguchi.consultation.retrieval.embedding import embedders
from madoguchi.consultation.retrieval.index import KnowledgeIndex
from madoguchi.consultation.retrieval.text import SynonymTable
from tests.isolation import Tenant

HERE = Path(__file__).parent


def test_too_few_labels_keep_the_default() -> None:
    samples = [(0.9, True)] * (MIN_SAMPLES - 1)
    assert threshold_for(samples) == DEFAULT_THRESHOLD


def test_the_threshold_is_the_lowest_confidence_with_few_enough_mistakes() -> None:
    """100 labels allow one confidently wrong answer (1 %): the second mistake sets the bar."""
    samples = [(0.95, True)] * 60 + [(0.8, False), (0.7, True), (0.65, False)] + [(0.3, True)] * 37
    assert threshold_for(samples) == 0.7
    # Right answers lower down pull the threshold down only while mistakes stay within 1 %.
    assert threshold_for([(0.95, True)] * 99 + [(0.45, True)]) == 0.45


def test_mistakes_at_the_top_make_the_assistant_always_ask() -> None:
    samples = [(0.99, False), (0.98, False)] + [(0.9, True)] * 40
    assert threshold_for(samples) > 0.99
    assert threshold_for([(0.2, True)] * 50) == THRESHOLD_FLOOR


def test_equal_confidences_are_answered_together() -> None:
    samples = [(0.9, True)] * 50 + [(0.6, True), (0.6, False), (0.6, False)] + [(0.1, True)] * 47
    assert threshold_for(samples) == 0.9


def _lexical_cw_rate(eval_set_name: str) -> float:
    eval_set = (
        demo_set(HERE / "evaluation.tsv")
        if eval_set_name == "demo"
        else csv_set(
            "second",
            HERE / "data" / "higashihama_faq.csv",
            HERE / "data" / "higashihama_questions.tsv",
        )
    )
    run = retrieval_run(eval_set, embedder=None)
    held_out = tally(
        [f for f in run.found if f.query.half == "held-out"], threshold=LEXICAL_THRESHOLD
    )
    return held_out.rate(held_out.confident_wrong, of_all=True)


@pytest.mark.parametrize("eval_set", ["demo", "second"])
def test_the_lexical_fallback_asks_rather_than_guesses(eval_set: str) -> None:
    """Without the model, at most 2 % of held-out questions get a confidently wrong answer."""
    assert _lexical_cw_rate(eval_set) <= 0.02


def test_the_lexical_fallback_answers_an_entrys_own_wording_and_asks_otherwise() -> None:
    entries, _codes = demo_index_entries()
    index = KnowledgeIndex(entries=entries, synonyms=SynonymTable(), embedder=None)
    own = index.search("粗大ごみを出すにはどうすればよいですか")
    assert own.confidence == 1.0
    # Words of the question that no phrasing of the first entry holds: it asks.
    other = index.search("粗大ごみの料金を払う場所")
    assert other.hits
    assert 0.0 < other.confidence < LEXICAL_THRESHOLD
    assert index.search("今日の天気").confidence < LEXICAL_THRESHOLD


@pytest.mark.parametrize(
    ("question", "code"),
    [("粗大ごみを出したい", "gomi-sodai"), ("粗大ごみの申し込み", "gomi-sodai")],
)
def test_the_lexical_fallback_answers_a_clear_case(question: str, code: str) -> None:
    """Every word of the question is in the first entry's phrasings, which lead clearly."""
    entries, codes = demo_index_entries()
    index = KnowledgeIndex(entries=entries, synonyms=SynonymTable(), embedder=None)
    result = index.search(question)
    assert codes[result.hits[0].entry_id] == code
    assert result.confidence >= LEXICAL_THRESHOLD


def _labelled(
    tenant: Tenant, entry: FaqEntry, other: FaqEntry, rows: list[tuple[float, bool]]
) -> None:
    conversation = conversation_open(municipality=tenant.municipality, channel=Channel.WEB)
    for confidence, right in rows:
        Message.objects.create(
            conversation=conversation,
            municipality=tenant.municipality,
            sender=Sender.RESIDENT,
            text="質問",
            outcome=Outcome.ANSWERED,
            entry=entry,
            confidence=confidence,
            resolved_entry=entry if right else other,
        )


def test_calibrate_sets_each_municipalitys_own_threshold(kobe_kb: Tenant, tenant_b: Tenant) -> None:
    entries = list(FaqEntry.objects.filter(municipality=kobe_kb.municipality)[:2])
    _labelled(kobe_kb, entries[0], entries[1], [(0.9, True)] * 40 + [(0.6, False)] * 2)
    out = StringIO()
    call_command("consultation", "calibrate", stdout=out)
    lines = out.getvalue().splitlines()
    assert "kobe: answers at confidence >= 0.90 (calibrated on 42 labelled question(s))" in lines
    other = f"{tenant_b.municipality.slug}: answers at confidence >= {DEFAULT_THRESHOLD:.2f}"
    assert f"{other} (default: fewer than 30 labelled questions)" in lines
    assert calibration_for(municipality=kobe_kb.municipality).hybrid == 0.9
    assert calibration_for(municipality=tenant_b.municipality).hybrid == DEFAULT_THRESHOLD
    events = AuditEntry.objects.filter(action="consultation.calibrate")
    assert events.filter(municipality=kobe_kb.municipality).count() == 1


def test_a_calibrated_threshold_makes_the_assistant_ask_instead_of_answering(
    kobe_kb: Tenant,
) -> None:
    question = "個人番号カードを作りたい"
    before = assistant_explain(municipality=kobe_kb.municipality, text=question)
    assert before.decision == Decision.ANSWER
    assert before.match is not None
    KnowledgeBase.objects.filter(municipality=kobe_kb.municipality).update(
        answer_threshold=before.match.result.confidence + 0.01, calibration_samples=50
    )
    conversation = conversation_open(municipality=kobe_kb.municipality, channel=Channel.WEB)
    reply = assistant_handle_text(conversation=conversation, text=question)
    assert reply.outcome == Outcome.LOW_CONFIDENCE
    assert "もしかして" in reply.text
    assert reply.actions[0].payload == f"faq:{before.match.ranked[0].pk}"
    assert reply.actions[-1].payload == "handover"
    # The try page shows the same decision and where the threshold comes from.
    body = kobe_kb.client("admin").get("/kobe/chat/staff/faq/try/", {"q": question}).content
    text = body.decode()
    assert "候補を示して確認する</span>" in text
    assert "この自治体の評価済みの質問50件から校正" in text


def test_residents_feedback_and_picks_label_their_questions(kobe_kb: Tenant) -> None:
    conversation = conversation_open(municipality=kobe_kb.municipality, channel=Channel.WEB)
    answered = assistant_handle_text(conversation=conversation, text="個人番号カードを作りたい")
    assert answered.outcome == Outcome.ANSWERED
    assistant_handle_action(conversation=conversation, payload=f"feedback:{answered.message_id}:1")
    first = Message.objects.filter(conversation=conversation, sender=Sender.RESIDENT).first()
    assert first is not None
    assert first.resolved_entry_id == first.entry_id

    asked = assistant_handle_text(conversation=conversation, text="自転車を捨てたい")
    assert asked.outcome == Outcome.LOW_CONFIDENCE
    question = Message.objects.filter(conversation=conversation, sender=Sender.RESIDENT).last()
    assert question is not None
    picked = asked.actions[1].payload  # the second candidate
    assistant_handle_action(conversation=conversation, payload=picked)
    question.refresh_from_db()
    assert question.resolved_entry_id == int(picked.removeprefix("faq:"))
    samples = calibration_samples(municipality=kobe_kb.municipality)
    assert sorted(right for _c, right in samples) == [False, True]


def test_an_unhelpful_answer_labels_its_question_wrong(kobe_kb: Tenant) -> None:
    client = Client()
    client.post("/kobe/chat/", {"action": "ask", "question": "個人番号カードを作りたい"})
    answer = Message.objects.get(sender=Sender.ASSISTANT, outcome=Outcome.ANSWERED)
    client.post("/kobe/chat/", {"action": "act", "payload": f"feedback:{answer.pk}:0"})
    conversation = Conversation.objects.get()
    question = Message.objects.get(conversation=conversation, sender=Sender.RESIDENT)
    assert (question.helpful, question.resolved_entry_id) == (False, None)
    assert calibration_samples(municipality=kobe_kb.municipality) == [(question.confidence, False)]


@pytest.mark.slow
def test_hybrid_confident_mistakes_stay_rare_on_both_held_out_halves() -> None:
    """At the default threshold, at most 2 % of held-out questions are answered wrongly."""
    embedder = embedders.get("e5")
    assert embedder is not None
    for eval_set in (
        demo_set(HERE / "evaluation.tsv"),
        csv_set(
            "second",
            HERE / "data" / "higashihama_faq.csv",
            HERE / "data" / "higashihama_questions.tsv",
        ),
    ):
        run = retrieval_run(eval_set, embedder=embedder)
        t = tally([f for f in run.found if f.query.half == "held-out"], threshold=DEFAULT_THRESHOLD)
        assert t.rate(t.confident_wrong, of_all=True) <= 0.02, eval_set.name


def test_staff_assigning_questions_to_an_entry_labels_them(kobe_kb: Tenant) -> None:
    resident = Client()
    resident.post("/kobe/chat/", {"action": "ask", "question": "自転車を捨てたい"})
    question = Message.objects.get(sender=Sender.RESIDENT)
    assert question.outcome == Outcome.LOW_CONFIDENCE
    target = FaqEntry.objects.get(municipality=kobe_kb.municipality, code="gomi-sodai")
    response = kobe_kb.client("admin").post(
        "/kobe/chat/staff/learning/",
        {"messages": str(question.pk), "action": "alternative", "entry": str(target.pk)},
    )
    assert response.status_code == 302
    question.refresh_from_db()
    assert question.resolved_entry_id == target.pk
    assert calibration_samples(municipality=kobe_kb.municipality) == [
        (question.confidence, question.entry_id == target.pk)
    ]


def test_calibrating_an_unknown_municipality_is_a_command_error(tenant_a: Tenant) -> None:
    with pytest.raises(CommandError, match="no municipality with the slug 'nowhere'"):
        call_command("consultation", "calibrate", "nowhere")
    assert not AuditEntry.objects.filter(action="consultation.calibrate").exists()
    assert KnowledgeBase.objects.filter(answer_threshold__isnull=False).count() == 0
