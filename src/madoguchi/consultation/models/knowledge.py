"""The knowledge base of one municipality: FAQ entries, synonyms and scenarios."""

from __future__ import annotations

import datetime
from collections.abc import Sequence
from typing import Any

from django.db import models
from django.utils.translation import gettext_lazy as _

from madoguchi.tenants.models import Department, Municipality


class KnowledgeBase(models.Model):
    """One row per municipality whose ``version`` changes with every edit of entries or synonyms.

    App servers compare it with the version of the index they hold and rebuild when it moved, so
    an edit reaches every server without any of them keeping state another one needs.
    """

    municipality = models.OneToOneField(Municipality, on_delete=models.CASCADE, related_name="+")
    version = models.PositiveBigIntegerField(default=0)
    updated_at = models.DateTimeField(auto_now=True)
    # The confidence at or above which the assistant answers (hybrid search), calibrated on the
    # municipality's own labelled questions; None until enough of them exist (the default then).
    answer_threshold = models.FloatField(null=True, blank=True)
    calibration_samples = models.PositiveIntegerField(default=0)
    calibrated_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"{self.municipality_id}@{self.version}"


class FaqEntry(models.Model):
    """A question residents ask, the ways they phrase it, and the answer (よくある質問)."""

    municipality = models.ForeignKey(Municipality, on_delete=models.CASCADE, related_name="+")
    code = models.SlugField(_("管理番号"), max_length=60)
    category = models.CharField(_("分類"), max_length=50)
    department = models.ForeignKey(
        Department,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("担当部署"),
    )
    question = models.CharField(_("質問"), max_length=200)
    alternatives: models.JSONField[list[str], list[str]] = models.JSONField(
        _("言い換え"), default=list, blank=True
    )
    answer = models.TextField(_("回答"), max_length=4000)
    # Shown first, before the answer's detail (「児童手当は偶数月の10日に振り込まれます」).
    direct_answer = models.CharField(_("一行回答"), max_length=200, blank=True, default="")
    # The entry in English, written by the municipality: shown to residents who ask in English
    # or read the chat in English; the phrasings are indexed beside the Japanese ones.
    question_en = models.CharField(_("質問（英語）"), max_length=200, blank=True, default="")
    alternatives_en: models.JSONField[list[str], list[str]] = models.JSONField(
        _("言い換え（英語）"), default=list, blank=True
    )
    answer_en = models.TextField(_("回答（英語）"), max_length=4000, blank=True, default="")
    direct_answer_en = models.CharField(
        _("一行回答（英語）"), max_length=200, blank=True, default=""
    )
    valid_from = models.DateField(_("掲載開始日"), null=True, blank=True)
    valid_until = models.DateField(_("掲載終了日"), null=True, blank=True)
    is_published = models.BooleanField(_("公開"), default=True)
    helpful_count = models.PositiveIntegerField(default=0)
    unhelpful_count = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("FAQ")
        verbose_name_plural = _("FAQ")
        ordering = ["municipality", "category", "code"]
        constraints = [
            models.UniqueConstraint(fields=["municipality", "code"], name="faq_code_unique")
        ]

    def __str__(self) -> str:
        return f"{self.code}: {self.question}"

    @property
    def english_phrasings(self) -> tuple[str, ...]:
        return self.english_phrasings_of(self.question_en, self.alternatives_en)

    @staticmethod
    def english_phrasings_of(question_en: str, alternatives_en: Sequence[str]) -> tuple[str, ...]:
        """The English question first, then the English alternatives (none empty)."""
        return tuple(p for p in (question_en, *alternatives_en) if p)

    def is_valid_on(self, day: datetime.date) -> bool:
        if self.valid_from is not None and day < self.valid_from:
            return False
        return self.valid_until is None or day <= self.valid_until


class SynonymGroup(models.Model):
    """Words residents use for the same thing in this municipality (マイナンバー ⇔ 個人番号)."""

    municipality = models.ForeignKey(Municipality, on_delete=models.CASCADE, related_name="+")
    terms: models.JSONField[list[str], list[str]] = models.JSONField(_("同義語"), default=list)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["municipality", "pk"]

    def __str__(self) -> str:
        return " ⇔ ".join(self.terms)


class EmbeddingCache(models.Model):
    """Sentence vectors by model and text digest, so unchanged entries are never re-embedded.

    Keyed by content, not by entry: the vector of a public FAQ phrasing reveals nothing beyond
    the text, and two municipalities with the same phrasing share it.
    """

    model = models.CharField(max_length=40)
    digest = models.CharField(max_length=64)
    vector = models.BinaryField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["model", "digest"], name="embedding_cache_unique")
        ]

    def __str__(self) -> str:
        return f"{self.model}:{self.digest[:12]}"


class TermCache(models.Model):
    """The lexical terms of an FAQ text (SudachiPy and the term rules of ``retrieval.text``) by
    digest of the rules' version and the text, so that an app server starting with an empty
    memory indexes without tokenising every text again (about 80 % of such a build).

    Keyed by content like :class:`EmbeddingCache`: the terms of a public FAQ text reveal
    nothing beyond the text.
    """

    digest = models.CharField(max_length=64, unique=True)
    terms = models.TextField()  # JSON, see LexicalTerms.to_json
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return self.digest[:12]


class Scenario(models.Model):
    """A guided conversation declared in YAML: questions with buttons leading to outcomes."""

    municipality = models.ForeignKey(Municipality, on_delete=models.CASCADE, related_name="+")
    code = models.SlugField(_("コード"), max_length=60)
    title = models.CharField(_("名称"), max_length=100)
    department = models.ForeignKey(
        Department, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    definition: models.JSONField[dict[str, Any], dict[str, Any]] = models.JSONField()
    digest = models.CharField(max_length=64)
    is_published = models.BooleanField(default=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["municipality", "code"]
        constraints = [
            models.UniqueConstraint(fields=["municipality", "code"], name="scenario_code_unique")
        ]

    def __str__(self) -> str:
        return self.title
