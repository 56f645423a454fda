"""The assistant's side of a conversation: questions, buttons, scenarios and hand-over.

Channels (web chat, LINE) parse what the resident sent, call these services and show the
:class:`Reply`. Resident messages are stored encrypted; a status-lookup secret is masked
before it is stored.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, replace
from enum import StrEnum
from typing import Final

from django.db import transaction
from django.db.models import F
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from madoguchi.consultation.calibration import DEFAULT_THRESHOLD, calibration_for
from madoguchi.consultation.errors import ConsultationError, ConsultationErrorCode
from madoguchi.consultation.language import question_language
from madoguchi.consultation.models import (
    Channel,
    Conversation,
    ConversationState,
    FaqEntry,
    Message,
    Outcome,
    Sender,
)
from madoguchi.consultation.notify import staff_mail_on_handover, staff_mail_on_resident_message
from madoguchi.consultation.replies import Action, Fixed, Link, Part, Reply, Typed
from madoguchi.consultation.retrieval.index import SearchResult
from madoguchi.consultation.retrieval.store import index_for
from madoguchi.consultation.retrieval.text import normalize_query
from madoguchi.consultation.scenario_flow import scenario_action_reply, scenario_suggestions
from madoguchi.core.crypto import blind_index
from madoguchi.core.events import DomainEvent, event_publish
from madoguchi.core.japanese import normalize_text
from madoguchi.procedures.status import LookupRefused, status_lookup
from madoguchi.tenants.contacts import contacts_substitute
from madoguchi.tenants.models import Department, Municipality

__all__ = [
    "ANSWER_THRESHOLD",
    "MAX_MESSAGE_CHARS",
    "Decision",
    "Explanation",
    "FaqMatch",
    "assistant_explain",
    "assistant_handle_action",
    "assistant_handle_text",
    "assistant_menu",
    "conversation_handover",
    "conversation_open",
    "faq_answer",
    "faq_answer_text",
    "faq_match",
]

ANSWER_THRESHOLD: Final = DEFAULT_THRESHOLD  # until the municipality is calibrated
MAX_MESSAGE_CHARS: Final = 1000
_HANDOVER_WORDS: Final = ("担当者", "職員", "人と話", "オペレーター", "有人", "相談員", "人間")
_STATUS: Final = re.compile(
    r"(?P<receipt>\d{5}[- ]?\d{5})[\s,、/:：]*(?P<secret>[A-Za-z0-9]{4}[- ]?[A-Za-z0-9]{4})(?!\w)"
)


def conversation_open(
    *, municipality: Municipality, channel: Channel, line_user_id: str = ""
) -> Conversation:
    """A new conversation (LINE conversations are found again by the user's id)."""
    return Conversation.objects.create(
        municipality=municipality, channel=channel, line_user_id=line_user_id or None
    )


# Wording shown around a municipality's data: stored by msgid with the message (``Fixed``), so
# the web chat shows it in the reader's language and the data apart (see ``replies``).
_MENU: Final = gettext_noop(
    "%(name)sの相談窓口です。ご質問を文章で送ってください（例：「粗大ごみの出し方」）。"
    "下のボタンから案内を始めることもできます。"
)
_SOME_DEPARTMENT: Final = gettext_noop("担当部署")
_HANDOVER: Final = gettext_noop(
    "%(department)sの担当者におつなぎします。ご相談の内容を続けて送ってください。"
    "返信は、受付時間内（平日8時45分〜17時30分）に、このチャットでお送りします。"
)
_HANDOVER_LINE: Final = gettext_noop(
    "返信はこのトークに届きます。後で続きを送るときも、このトークに送ってください。"
)
_HANDOVER_WEB: Final = gettext_noop(
    "このページを閉じても、下の「この相談に戻るためのリンク」から続きを読んだり送ったりできます。"
)


def _store(conversation: Conversation, sender: Sender, text: str, **fields: object) -> Message:
    message = Message.objects.create(
        conversation=conversation,
        municipality_id=conversation.municipality_id,
        sender=sender,
        text=text,
        **fields,
    )
    Conversation.objects.filter(pk=conversation.pk).update(last_message_at=timezone.now())
    return message


def _answer(conversation: Conversation, reply: Reply, **fields: object) -> Reply:
    if language := _question_language.get():
        reply = replace(reply, language=language)
    message = _store(
        conversation,
        Sender.ASSISTANT,
        reply.text,
        outcome=reply.outcome,
        extras=reply.extras(),
        **fields,
    )
    if reply.outcome == Outcome.ANSWERED and "entry" in fields:
        actions = (
            Action(_("役に立った"), f"feedback:{message.pk}:1"),
            Action(_("役に立たなかった"), f"feedback:{message.pk}:0"),
            *reply.actions,
        )
        reply = replace(reply, actions=actions)
        message.extras = reply.extras()
        message.save(update_fields=["extras"])
    return replace(reply, message_id=message.pk)


def _handover_action() -> Action:
    return Action(_("担当者に相談する"), "handover")


def assistant_menu(*, municipality: Municipality) -> Reply:
    """The greeting with the main menu: guided scenarios and a person."""
    parts: tuple[Part, ...] = (Fixed(_MENU, (("name", Typed(municipality.name)),)),)
    actions = [*scenario_suggestions(municipality=municipality, text=None), _handover_action()]
    return Reply.of_parts(parts, Outcome.GREETING, tuple(actions), stored=False)


def _refuse(message: str) -> Reply:
    return Reply(message, Outcome.REFUSED, stored=False)


def _status_reply(
    conversation: Conversation, text: str, match: re.Match[str], client: str
) -> Reply:
    masked = text.replace(match.group("secret"), "****-****")
    _store(conversation, Sender.RESIDENT, masked, outcome=Outcome.STATUS)
    municipality = conversation.municipality
    try:
        status = status_lookup(
            municipality=municipality,
            receipt_text=match.group("receipt"),
            secret_text=match.group("secret"),
            client=client,
        )
    except LookupRefused as exc:
        return _answer(conversation, Reply(exc.message, Outcome.STATUS))
    lines = [
        _("受付番号 %(number)s（%(procedure)s）")
        % {
            "number": status.receipt_display,
            "procedure": status.procedure_name,
        },
        _("状況：%(state)s") % {"state": status.state_label},
    ]
    if status.expected_completion is not None:
        lines.append(
            _("完了予定：%(date)s") % {"date": f"{status.expected_completion:%Y年%m月%d日}"}
        )
    if status.resident_action:
        lines.append(status.resident_action)
    if status.public_message:
        lines.append(status.public_message)
    return _answer(conversation, Reply("\n".join(lines), Outcome.STATUS))


def _english_wanted() -> bool:
    """Whether the reply is given in English (the chat is shown in English, or the question
    was written in English: see :func:`assistant_handle_text`)."""
    return (translation.get_language() or "").startswith("en")


# Said before a Japanese answer given to a resident reading in English.
_ONLY_JAPANESE: Final = gettext_noop("この回答は日本語のみです。")


def _faq_answer_parts(entry: FaqEntry, *, english: bool) -> tuple[bool, str, str]:
    """(whether the answer is only in Japanese, the direct answer or "", the detail) with the
    municipality's contact points filled in."""
    only_japanese = False
    if english and entry.answer_en:
        lead, detail = entry.direct_answer_en, entry.answer_en
    else:
        lead, detail = entry.direct_answer, entry.answer
        only_japanese = english
    if "{contact:" in lead + detail:
        lead, detail = (
            contacts_substitute(part, municipality=entry.municipality) for part in (lead, detail)
        )
    return only_japanese, lead, detail


def faq_answer(entry: FaqEntry, *, english: bool = False) -> tuple[str, str]:
    """(the whole text, its one-line direct answer or "") of the entry as a resident reads it.

    The direct answer comes first, then the detail. In English, the entry's English text when
    the municipality wrote one, otherwise the Japanese text after a note that it is only in
    Japanese. {contact:key} becomes the municipality's contact point (name, number, hours).
    """
    only_japanese, lead, detail = _faq_answer_parts(entry, english=english)
    return _faq_answer_text(only_japanese, lead, detail), lead


def _faq_answer_text(only_japanese: bool, lead: str, detail: str) -> str:
    """The answer's paragraphs as one text (what LINE and staff pages show)."""
    note = _(_ONLY_JAPANESE) if only_japanese else ""
    return "\n\n".join(part for part in (note, lead, detail) if part)


def faq_answer_text(entry: FaqEntry) -> str:
    """The entry's answer as a resident reads it (direct answer first)."""
    return faq_answer(entry, english=_english_wanted())[0]


def _entry_question(entry: FaqEntry) -> str:
    """The entry's question in the reply's language (English when written)."""
    return entry.question_en if _english_wanted() and entry.question_en else entry.question


def _entry_label(entry: FaqEntry) -> str:
    return _entry_question(entry)[:40]


def _entry_reply(entry: FaqEntry, extra: tuple[Action, ...] = ()) -> Reply:
    english = _english_wanted()
    only_japanese, lead, detail = _faq_answer_parts(entry, english=english)
    # The stored text keeps the paragraphs (LINE shows it as it is); the parts let the web chat
    # show our note in the reader's language and the municipality's text as typed.
    parts: tuple[Part, ...] = (
        *((Fixed(_ONLY_JAPANESE),) if only_japanese else ()),
        *(Typed(text) for text in (lead, detail) if text),
    )
    text = _faq_answer_text(only_japanese, lead, detail)
    return Reply(text, Outcome.ANSWERED, (*extra, _handover_action()), parts=parts, lead=lead)


def question_problem(text: str) -> str | None:
    """Why a typed message cannot be taken (empty, too long), or None when it can."""
    if not normalize_text(text or ""):
        return _("質問を入力してください。")
    if len(text) > MAX_MESSAGE_CHARS:
        return _("質問は%(limit)d文字以内で入力してください（今は%(count)d文字です）。") % {
            "limit": MAX_MESSAGE_CHARS,
            "count": len(text),
        }
    return None


@dataclass(frozen=True, slots=True)
class FaqMatch:
    """What the knowledge base offers for a question, before anything is stored."""

    result: SearchResult
    ranked: list[FaqEntry]  # the entries of result.hits, best first
    suggestions: tuple[Action, ...]  # scenarios whose keywords occur in the question
    threshold: float = ANSWER_THRESHOLD  # the municipality's, for the search mode used
    calibrated_on: int = 0  # labelled questions behind the threshold; 0 for the default

    @property
    def best(self) -> FaqEntry | None:
        return self.ranked[0] if self.ranked else None

    @property
    def confident(self) -> bool:
        return self.best is not None and self.result.confidence >= self.threshold

    @property
    def outcome(self) -> Outcome:
        if self.confident:
            return Outcome.ANSWERED
        return Outcome.LOW_CONFIDENCE if self.ranked else Outcome.NO_MATCH


def faq_match(*, municipality: Municipality, text: str, limit: int = 3) -> FaqMatch:
    """Search the municipality's FAQ the way the assistant does (reads only)."""
    result = index_for(municipality).search(text, limit=limit, today=timezone.localdate())
    ids = [hit.entry_id for hit in result.hits]
    entries = {
        e.pk: e
        for e in FaqEntry.objects.filter(
            municipality=municipality, pk__in=ids, is_published=True
        ).select_related("department")
    }
    suggestions = tuple(scenario_suggestions(municipality=municipality, text=normalize_query(text)))
    calibration = calibration_for(municipality=municipality)
    threshold = calibration.threshold(result.mode)
    return FaqMatch(
        result,
        [entries[i] for i in ids if i in entries],
        suggestions,
        threshold,
        calibration.samples if result.mode == "hybrid" else 0,
    )


class Decision(StrEnum):
    """What the assistant does with a typed question (shown on the admin's try page)."""

    ANSWER = "answer"  # gives the best entry's answer
    ASK = "ask"  # shows up to three "もしかして" candidates and offers a person
    HANDOVER = "handover"  # finds nothing (or is asked for a person): offers a person
    STATUS = "status"  # a receipt number and secret: looks up the application


@dataclass(frozen=True, slots=True)
class Explanation:
    decision: Decision
    match: FaqMatch | None  # None when the question never reaches the FAQ
    problem: str = ""  # why the text cannot be taken at all


def assistant_explain(*, municipality: Municipality, text: str, limit: int = 5) -> Explanation:
    """What the assistant would do with ``text`` in a new conversation, and why.

    The same steps as :func:`assistant_handle_text` in the same order, without a
    conversation: nothing is stored and no status is looked up. ``limit`` candidates are
    scored; the resident is shown the first three.
    """
    problem = question_problem(text)
    if problem is not None:
        return Explanation(Decision.HANDOVER, None, problem)
    cleaned = " ".join(text.split())
    if _STATUS.search(normalize_text(cleaned)):
        return Explanation(Decision.STATUS, None)
    normalized = normalize_query(cleaned)
    if any(word in normalized for word in _HANDOVER_WORDS) and len(normalized) <= 30:
        return Explanation(Decision.HANDOVER, None)
    match = faq_match(municipality=municipality, text=cleaned, limit=limit)
    if match.confident:
        return Explanation(Decision.ANSWER, match)
    return Explanation(Decision.ASK if match.ranked else Decision.HANDOVER, match)


# The language a reply was given in because of the question's own language (an English
# question on a page shown in Japanese): stored with the reply so that the web chat shows our
# wording in it, not in the page's language.
_question_language: ContextVar[str] = ContextVar("question_language", default="")


@contextmanager
def _in_language_of(text: str) -> Iterator[None]:
    """English for a question written in English, whatever language the page is shown in.

    A receipt number and its secret (「1234567890 ABCD-EFGH」) say nothing about the language.
    """
    words = _STATUS.sub(" ", normalize_text(text[: MAX_MESSAGE_CHARS + 1]))
    if question_language(words) != "en" or _english_wanted():
        yield
        return
    token = _question_language.set("en")
    try:
        with translation.override("en"):
            yield
    finally:
        _question_language.reset(token)


def assistant_handle_text(*, conversation: Conversation, text: str, client: str = "") -> Reply:
    """Answer a typed message: status lookup, a request for a person, or the FAQ.

    A question written in English is answered in English (the entry's English text, buttons
    and messages), also on LINE and on a page shown in Japanese.
    """
    with _in_language_of(text or ""):
        return _handle_text(conversation=conversation, text=text, client=client)


@transaction.atomic
def _handle_text(*, conversation: Conversation, text: str, client: str = "") -> Reply:
    problem = question_problem(text)
    if problem is not None:
        return _refuse(problem)
    cleaned = " ".join(text.split())  # stored as typed, spaces tidied
    if conversation.state == ConversationState.CLOSED:
        conversation.state = ConversationState.BOT
        conversation.save(update_fields=["state"])
    match = _STATUS.search(normalize_text(cleaned))
    if match:
        return _status_reply(conversation, normalize_text(cleaned), match, client)
    if conversation.state in {ConversationState.WAITING, ConversationState.ANSWERED}:
        # A person is on it: the message goes to the inbox, the bot stays quiet.
        previous_state = conversation.state
        _store(conversation, Sender.RESIDENT, cleaned, outcome=Outcome.HANDOVER)
        Conversation.objects.filter(pk=conversation.pk).update(state=ConversationState.WAITING)
        conversation.state = ConversationState.WAITING
        staff_mail_on_resident_message(conversation=conversation, previous_state=previous_state)
        return Reply(
            _("担当者に伝えました。返信までしばらくお待ちください。"),
            Outcome.HANDOVER,
            stored=False,
        )
    normalized = normalize_query(cleaned)
    if any(word in normalized for word in _HANDOVER_WORDS) and len(normalized) <= 30:
        _store(conversation, Sender.RESIDENT, cleaned, outcome=Outcome.HANDOVER)
        return conversation_handover(conversation=conversation)

    municipality = conversation.municipality
    found = faq_match(municipality=municipality, text=cleaned)
    result, ranked, suggestions = found.result, found.ranked, found.suggestions
    group_key = blind_index(
        " ".join(sorted(set(result.keywords))) or normalized, purpose="consultation.question"
    )
    best = found.best
    confident = found.confident
    outcome = found.outcome
    _store(
        conversation,
        Sender.RESIDENT,
        cleaned,
        outcome=outcome,
        entry=best,
        confidence=result.confidence,
        candidates=[e.pk for e in ranked],
        group_key=group_key,
    )
    if confident and best is not None:
        if best.department_id and conversation.department_id != best.department_id:
            conversation.department = best.department
            conversation.save(update_fields=["department"])
        return _answer(
            conversation, _entry_reply(best, suggestions), entry=best, confidence=result.confidence
        )
    if ranked:
        first = gettext_noop("はっきりとはわかりませんでした。もしかして、次のどれかですか。")
        actions = (*(Action(_entry_label(e), f"faq:{e.pk}") for e in ranked[:3]), *suggestions)
    else:
        first = gettext_noop("申し訳ありません。お答えできる情報が見つかりませんでした。")
        actions = suggestions
    # Parts, so that English sentences are spaced and the web chat shows them in the reader's
    # language.
    parts: tuple[Part, ...] = (
        Fixed(first),
        Fixed(gettext_noop("担当者に相談することもできます。")),
    )
    reply = Reply.of_parts(parts, outcome, (*actions, _handover_action()))
    return _answer(
        conversation, reply, candidates=[e.pk for e in ranked], confidence=result.confidence
    )


@transaction.atomic
def conversation_handover(
    *, conversation: Conversation, department: Department | None = None
) -> Reply:
    """Put the conversation in the responsible department's inbox and e-mail its staff."""
    if department is not None and department.municipality_id == conversation.municipality_id:
        conversation.department = department
    previous_state = conversation.state
    conversation.state = ConversationState.WAITING
    conversation.handover_at = timezone.now()
    conversation.save(update_fields=["department", "state", "handover_at"])
    staff_mail_on_handover(conversation=conversation, previous_state=previous_state)
    event_publish(
        DomainEvent(
            municipality_id=conversation.municipality_id,
            type="handover.opened",
            subject=f"consultations/{conversation.pk}",
            data={
                "conversation": str(conversation.pk),
                "department": conversation.department.code if conversation.department else "",
                "channel": conversation.channel,
            },
        )
    )
    department_name = conversation.department.name if conversation.department else ""
    where = Typed(department_name) if department_name else Fixed(_SOME_DEPARTMENT)
    # How to come back later: on LINE the talk is the conversation; on the web the chat page
    # shows a link back (signed, never stored in the conversation) under this message.
    back = _HANDOVER_LINE if conversation.channel == Channel.LINE else _HANDOVER_WEB
    parts: tuple[Part, ...] = (Fixed(_HANDOVER, (("department", where),)), Fixed(back))
    return _answer(conversation, Reply.of_parts(parts, Outcome.HANDOVER))


def _question_before(conversation: Conversation, message_pk: int | None = None) -> Message | None:
    """The resident's last typed question (before ``message_pk`` when given)."""
    messages = Message.objects.filter(conversation=conversation, sender=Sender.RESIDENT)
    if message_pk is not None:
        messages = messages.filter(pk__lt=message_pk)
    return messages.order_by("-pk").first()


def _label_pick(conversation: Conversation, entry: FaqEntry) -> None:
    """A candidate picked from the 「もしかして」 list labels the question it was offered for."""
    question = _question_before(conversation)
    if (
        question is not None
        and question.outcome == Outcome.LOW_CONFIDENCE
        and question.resolved_entry_id is None
        and entry.pk in question.candidates
    ):
        question.resolved_entry = entry
        question.save(update_fields=["resolved_entry"])


def _feedback(conversation: Conversation, message_id: str, value: str) -> Reply:
    message = Message.objects.filter(
        conversation=conversation, pk=int(message_id), sender=Sender.ASSISTANT
    ).first()
    if message is None or value not in {"0", "1"}:
        raise ValueError("unknown message")
    helpful = value == "1"
    if message.helpful is None and message.entry_id is not None:
        counter = "helpful_count" if helpful else "unhelpful_count"
        FaqEntry.objects.filter(pk=message.entry_id).update(**{counter: F(counter) + 1})
        question = _question_before(conversation, message.pk)
        if question is not None:
            # The question is now labelled for calibrating the confidence: right or wrong.
            if helpful:
                question.resolved_entry_id = message.entry_id
            else:
                question.helpful = False
            question.save(update_fields=["helpful", "resolved_entry"])
    message.helpful = helpful
    message.save(update_fields=["helpful"])
    if helpful:
        return Reply(_("ご回答ありがとうございました。"), Outcome.ANSWERED, stored=False)
    return Reply(
        _("お役に立てず申し訳ありません。別の言葉で質問するか、担当者にご相談ください。"),
        Outcome.ANSWERED,
        (_handover_action(),),
        stored=False,
    )


@transaction.atomic
def assistant_handle_action(*, conversation: Conversation, payload: str) -> Reply:
    """Answer a pressed button; a payload that means nothing gets the menu again."""
    municipality = conversation.municipality
    kind, _sep, rest = (payload or "").partition(":")
    try:
        if kind == "faq":
            entry = FaqEntry.objects.filter(
                municipality=municipality, pk=int(rest), is_published=True
            ).first()
            if entry is not None:
                _label_pick(conversation, entry)
                last = _question_before(conversation)
                with _in_language_of(last.text if last is not None else ""):
                    _store(
                        conversation,
                        Sender.RESIDENT,
                        _entry_question(entry),
                        outcome=Outcome.ANSWERED,
                        entry=entry,
                    )
                    return _answer(conversation, _entry_reply(entry), entry=entry)
        elif kind == "handover":
            _store(conversation, Sender.RESIDENT, _("担当者に相談する"), outcome=Outcome.HANDOVER)
            return conversation_handover(conversation=conversation)
        elif kind == "feedback":
            message_id, _sep, value = rest.partition(":")
            return _feedback(conversation, message_id, value)
        elif kind in {"scenario", "step"}:
            reply = scenario_action_reply(conversation=conversation, kind=kind, rest=rest)
            if reply is not None:
                return _answer(conversation, reply)
        elif kind == "menu":
            return assistant_menu(municipality=municipality)
    except (ValueError, OverflowError):
        pass
    menu = assistant_menu(municipality=municipality)
    return Reply(
        _("その選択肢は今は使えません。もう一度お選びください。"),
        Outcome.REFUSED,
        menu.actions,
        stored=False,
    )


def procedure_link(municipality: Municipality, code: str, label: str) -> Link:
    url = reverse(
        "procedures:detail", kwargs={"municipality_slug": municipality.slug, "code": code}
    )
    return Link(label, url)


def require_open(conversation: Conversation) -> None:
    if conversation.state == ConversationState.CLOSED:
        raise ConsultationError(
            ConsultationErrorCode.CONVERSATION_CLOSED, _("この相談は終了しています。")
        )
