"""Changing a municipality's knowledge base: FAQ entries, synonyms, scenarios, LINE settings.

Every change bumps the knowledge base's version, which makes each app server rebuild its index
on the next question, and writes an audit event.
"""

from __future__ import annotations

import datetime
import json
import logging
import re
import unicodedata
from dataclasses import dataclass
from typing import Any

from django.db import transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _

from madoguchi.audit.services import AuditActor, audit_event
from madoguchi.consultation.channels.line_api import LineApiError, line_apis, line_messages
from madoguchi.consultation.errors import ConsultationError, ConsultationErrorCode
from madoguchi.consultation.models import (
    FaqEntry,
    KnowledgeBase,
    LineChannel,
    Message,
    Outcome,
    Scenario,
    SynonymGroup,
)
from madoguchi.consultation.replies import Action, Link, Reply
from madoguchi.consultation.retrieval.text import normalize_query
from madoguchi.consultation.scenarios import ScenarioError, scenario_digest, scenario_parse_yaml
from madoguchi.core.japanese import normalize_text
from madoguchi.tenants.models import Department, Municipality

__all__ = [
    "FaqData",
    "faq_entry_delete",
    "faq_entry_save",
    "knowledge_touch",
    "learning_dismiss",
    "line_channel_save",
    "line_push",
    "scenario_load",
    "synonym_add",
    "synonym_delete",
]

logger = logging.getLogger(__name__)

MAX_ALTERNATIVES = 20


@dataclass(frozen=True, slots=True)
class FaqData:
    """An entry as typed in a form or a CSV row, before checks."""

    code: str
    category: str
    question: str
    answer: str
    alternatives: tuple[str, ...] = ()
    department_code: str = ""
    valid_from: datetime.date | None = None
    valid_until: datetime.date | None = None
    is_published: bool = True
    direct_answer: str = ""
    question_en: str = ""
    alternatives_en: tuple[str, ...] = ()
    answer_en: str = ""
    direct_answer_en: str = ""


def knowledge_touch(*, municipality: Municipality) -> int:
    """Bump the knowledge base's version; indexes built for an older one are rebuilt."""
    base, _created = KnowledgeBase.objects.get_or_create(municipality=municipality)
    KnowledgeBase.objects.filter(pk=base.pk).update(version=F("version") + 1)
    base.refresh_from_db(fields=["version"])
    return base.version


def faq_data_errors(data: FaqData, *, departments: dict[str, Department]) -> list[str]:
    """Japanese messages for everything wrong with ``data`` (empty when it can be saved)."""
    errors = []
    if not data.code or len(data.code) > 60 or not all(c.isalnum() or c in "-_" for c in data.code):
        errors.append(_("管理番号は60文字以内の英数字・ハイフン・下線で入力してください。"))
    elif not data.code.isascii():
        errors.append(_("管理番号は半角の英数字で入力してください。"))
    if not data.category or len(data.category) > 50:
        errors.append(_("分類を50文字以内で入力してください。"))
    if not data.question or len(data.question) > 200:
        errors.append(_("質問を200文字以内で入力してください。"))
    if not data.answer or len(data.answer) > 4000:
        errors.append(_("回答を4,000文字以内で入力してください。"))
    if len(data.alternatives) > MAX_ALTERNATIVES or any(len(a) > 200 for a in data.alternatives):
        errors.append(_("言い換えは20個まで、それぞれ200文字以内で入力してください。"))
    if len(data.direct_answer) > 200 or len(data.direct_answer_en) > 200:
        errors.append(_("一行回答は200文字以内で入力してください。"))
    if len(data.question_en) > 200:
        errors.append(_("英語の質問は200文字以内で入力してください。"))
    if len(data.answer_en) > 4000:
        errors.append(_("英語の回答は4,000文字以内で入力してください。"))
    if len(data.alternatives_en) > MAX_ALTERNATIVES or any(
        len(a) > 200 for a in data.alternatives_en
    ):
        errors.append(_("英語の言い換えは20個まで、それぞれ200文字以内で入力してください。"))
    if data.direct_answer_en and not data.answer_en:
        errors.append(_("英語の一行回答を使うときは、英語の回答も入力してください。"))
    if data.department_code and data.department_code not in departments:
        errors.append(
            _("部署コード「%(code)s」はこの自治体にありません。") % {"code": data.department_code}
        )
    if data.valid_from and data.valid_until and data.valid_until < data.valid_from:
        errors.append(_("掲載終了日は掲載開始日より後の日にしてください。"))
    return errors


_HALFWIDTH_KANA = re.compile(r"[\uff61-\uff9f]+")


def _tidy(text: str) -> str:
    """Spaces collapsed and 半角カナ widened (ｶｰﾄﾞ → カード); other characters as typed."""
    text = _HALFWIDTH_KANA.sub(lambda m: unicodedata.normalize("NFKC", m.group()), text)
    return " ".join(text.split())


def clean_faq_data(data: FaqData) -> FaqData:
    # Texts shown to residents keep their 全角 punctuation; only spaces are tidied.
    alternatives = tuple(dict.fromkeys(a for a in (_tidy(x) for x in data.alternatives) if a))
    alternatives_en = tuple(dict.fromkeys(a for a in (_tidy(x) for x in data.alternatives_en) if a))
    return FaqData(
        code=normalize_text(data.code),
        category=_tidy(data.category),
        question=_tidy(data.question),
        answer=data.answer.replace("\r\n", "\n").strip(),
        alternatives=alternatives,
        department_code=normalize_text(data.department_code),
        valid_from=data.valid_from,
        valid_until=data.valid_until,
        is_published=data.is_published,
        # One line each: a line break typed in a form or a CSV cell becomes a space.
        direct_answer=_tidy(data.direct_answer),
        question_en=_tidy(data.question_en),
        alternatives_en=alternatives_en,
        answer_en=data.answer_en.replace("\r\n", "\n").strip(),
        direct_answer_en=_tidy(data.direct_answer_en),
    )


def departments_by_code(municipality: Municipality) -> dict[str, Department]:
    return {d.code: d for d in Department.objects.filter(municipality=municipality)}


def faq_apply(
    *, municipality: Municipality, data: FaqData, departments: dict[str, Department]
) -> tuple[FaqEntry, bool]:
    """Create or update the entry with ``data.code`` (already checked); True when created."""
    fields: dict[str, Any] = {
        "category": data.category,
        "question": data.question,
        "answer": data.answer,
        "alternatives": list(data.alternatives),
        "department": departments.get(data.department_code),
        "valid_from": data.valid_from,
        "valid_until": data.valid_until,
        "is_published": data.is_published,
        "direct_answer": data.direct_answer,
        "question_en": data.question_en,
        "alternatives_en": list(data.alternatives_en),
        "answer_en": data.answer_en,
        "direct_answer_en": data.direct_answer_en,
    }
    entry = FaqEntry.objects.filter(municipality=municipality, code=data.code).first()
    if entry is None:
        return FaqEntry.objects.create(municipality=municipality, code=data.code, **fields), True
    changed = [name for name, value in fields.items() if getattr(entry, name) != value]
    for name in changed:
        setattr(entry, name, fields[name])
    if changed:
        entry.save(update_fields=[*changed, "updated_at"])
    return entry, False


@transaction.atomic
def faq_entry_save(
    *, municipality: Municipality, data: FaqData, actor: AuditActor, entry: FaqEntry | None = None
) -> FaqEntry:
    """Create an entry, or update ``entry`` (its code may change), after checking ``data``."""
    data = clean_faq_data(data)
    departments = departments_by_code(municipality)
    errors = faq_data_errors(data, departments=departments)
    clash = FaqEntry.objects.filter(municipality=municipality, code=data.code)
    if entry is not None:
        clash = clash.exclude(pk=entry.pk)
    if clash.exists():
        errors.append(_("管理番号「%(code)s」はすでに使われています。") % {"code": data.code})
    if errors:
        raise ConsultationError(ConsultationErrorCode.FAQ_INVALID, errors[0], errors)
    if entry is not None and entry.code != data.code:
        entry.code = data.code
        entry.save(update_fields=["code", "updated_at"])
    saved, created = faq_apply(municipality=municipality, data=data, departments=departments)
    knowledge_touch(municipality=municipality)
    audit_event(
        municipality=municipality,
        action="consultation.faq.create" if created else "consultation.faq.update",
        actor=actor,
        obj=saved,
        data={"code": saved.code},
    )
    return saved


@transaction.atomic
def faq_entry_delete(*, municipality: Municipality, entry: FaqEntry, actor: AuditActor) -> None:
    """Remove an entry of this municipality."""
    if entry.municipality_id != municipality.pk:
        raise ValueError("entry belongs to another municipality")
    code = entry.code
    entry.delete()
    knowledge_touch(municipality=municipality)
    audit_event(
        municipality=municipality,
        action="consultation.faq.delete",
        actor=actor,
        object_type="consultation.faqentry",
        object_id=code,
        data={"code": code},
    )


def _split_terms(text: str) -> list[str]:
    for separator in ("⇔", "＝", "=", "、", "，", ",", "\n"):
        text = text.replace(separator, ",")
    return list(dict.fromkeys(t for t in (normalize_text(x) for x in text.split(",")) if t))


@transaction.atomic
def synonym_add(
    *, municipality: Municipality, terms: str | list[str], actor: AuditActor
) -> SynonymGroup:
    """Declare words as equivalent; a word already in a group joins that group."""
    words = _split_terms(terms) if isinstance(terms, str) else _split_terms(",".join(terms))
    if len(words) < 2 or any(len(w) > 50 for w in words) or len(words) > 20:
        raise ConsultationError(
            ConsultationErrorCode.SYNONYM_INVALID,
            _("同じ意味の言葉を2つ以上（それぞれ50文字以内）、「、」で区切って入力してください。"),
        )
    keys = {normalize_query(w) for w in words}
    existing = [
        g
        for g in SynonymGroup.objects.select_for_update().filter(municipality=municipality)
        if keys & {normalize_query(t) for t in g.terms}
    ]
    if existing:
        group = existing[0]
        merged = list(group.terms)
        for other in existing[1:]:
            merged.extend(other.terms)
            other.delete()
        merged.extend(words)
        group.terms = list(dict.fromkeys(merged))
        group.save(update_fields=["terms"])
    else:
        group = SynonymGroup.objects.create(municipality=municipality, terms=words)
    knowledge_touch(municipality=municipality)
    audit_event(
        municipality=municipality,
        action="consultation.synonym.save",
        actor=actor,
        obj=group,
        data={"terms": group.terms},
    )
    return group


@transaction.atomic
def synonym_delete(*, municipality: Municipality, group: SynonymGroup, actor: AuditActor) -> None:
    """Remove a synonym group of this municipality."""
    if group.municipality_id != municipality.pk:
        raise ValueError("synonym group belongs to another municipality")
    terms = group.terms
    group.delete()
    knowledge_touch(municipality=municipality)
    audit_event(
        municipality=municipality,
        action="consultation.synonym.delete",
        actor=actor,
        object_type="consultation.synonymgroup",
        object_id="",
        data={"terms": terms},
    )


@transaction.atomic
def scenario_load(
    *,
    municipality: Municipality,
    yaml_text: str,
    actor: AuditActor,
    department_code: str | None = None,
) -> Scenario:
    """Check a scenario's YAML and store it (replacing the one with the same code)."""
    try:
        definition, data = scenario_parse_yaml(yaml_text)
    except ScenarioError as exc:
        raise ConsultationError(ConsultationErrorCode.SCENARIO_INVALID, str(exc)) from None
    if department_code is not None:
        data = {**data, "department": department_code}
    code = department_code if department_code is not None else definition.department
    department = Department.objects.filter(municipality=municipality, code=code).first()
    stored = json.loads(json.dumps(data, ensure_ascii=False, default=str))
    scenario, created = Scenario.objects.update_or_create(
        municipality=municipality,
        code=definition.code,
        defaults={
            "title": definition.title[:100],
            "department": department,
            "definition": stored,
            "digest": scenario_digest(stored),
            "is_published": True,
        },
    )
    audit_event(
        municipality=municipality,
        action="consultation.scenario.load",
        actor=actor,
        obj=scenario,
        data={"code": scenario.code, "created": created},
    )
    return scenario


@transaction.atomic
def line_channel_save(
    *,
    municipality: Municipality,
    channel_secret: str,
    access_token: str,
    actor: AuditActor,
    basic_id: str = "",
) -> LineChannel:
    """Store the municipality's LINE channel secret and access token (both encrypted).

    ``basic_id`` (@123abcde) gives residents the add-friend link; it is not a secret.
    """
    channel_secret, access_token = channel_secret.strip(), access_token.strip()
    if not channel_secret or not access_token:
        raise ConsultationError(
            ConsultationErrorCode.LINE_NOT_CONFIGURED,
            _("チャネルシークレットとチャネルアクセストークンを入力してください。"),
        )
    channel, _created = LineChannel.objects.update_or_create(
        municipality=municipality,
        defaults={
            "channel_secret": channel_secret,
            "access_token": access_token,
            "basic_id": basic_id.strip(),
            "is_active": True,
        },
    )
    audit_event(
        municipality=municipality,
        action="consultation.line.configure",
        actor=actor,
        obj=channel,
        data={"basic_id": channel.basic_id},
    )
    return channel


def line_push(
    *,
    municipality: Municipality,
    to: str,
    text: str,
    retry_key: str,
    links: tuple[tuple[str, str], ...] = (),
    actions: tuple[tuple[str, str], ...] = (),
) -> bool:
    """Push a text to a LINE user through the municipality's official account.

    ``links`` are (label, URL) pairs appended to the text, ``actions`` (label, postback data)
    quick-reply buttons. Returns False when the channel is off or the Messaging API refused;
    ``retry_key`` (a UUID) lets LINE drop a repeated push.
    """
    channel = LineChannel.objects.filter(municipality=municipality, is_active=True).first()
    if channel is None or not to:
        return False
    reply = Reply(
        text,
        Outcome.ANSWERED,
        tuple(Action(label, data) for label, data in actions),
        tuple(Link(label, url) for label, url in links),
        stored=False,
    )
    try:
        line_apis.for_token(channel.access_token).push(
            to=to, messages=line_messages(reply), retry_key=retry_key
        )
    except LineApiError:
        logger.warning("LINE push for %s failed", municipality.slug, exc_info=True)
        return False
    return True


@transaction.atomic
def learning_dismiss(
    *, municipality: Municipality, message_ids: list[int], actor: AuditActor, resolution: str
) -> int:
    """Mark questions of the learning list as handled; returns how many."""
    count = Message.objects.filter(
        municipality=municipality, pk__in=message_ids, reviewed_at__isnull=True
    ).update(reviewed_at=timezone.now())
    audit_event(
        municipality=municipality,
        action="consultation.learning.review",
        actor=actor,
        object_type="consultation.message",
        object_id="",
        data={"count": count, "resolution": resolution},
    )
    return count
