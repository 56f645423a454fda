"""Loading the demo knowledge base, synonyms and scenarios; a second run changes nothing."""

from __future__ import annotations

import logging

from django.db import transaction

from madoguchi.audit.services import AuditActor
from madoguchi.consultation.demo_data import DEMO_PROFILES, DEMO_SYNONYMS, demo_faq_rows
from madoguchi.consultation.models import FaqEntry, Scenario, SynonymGroup
from madoguchi.consultation.retrieval.store import index_for
from madoguchi.consultation.scenarios import (
    BUNDLED_SCENARIOS,
    bundled_scenario,
    scenario_digest,
    scenario_parse_yaml,
)
from madoguchi.consultation.services import (
    FaqData,
    clean_faq_data,
    departments_by_code,
    faq_apply,
    knowledge_touch,
    scenario_load,
    synonym_add,
)
from madoguchi.tenants.models import Municipality
from madoguchi.tenants.services import department_ensure

__all__ = ["consultation_demo_load"]

logger = logging.getLogger(__name__)


@transaction.atomic
def _load_one(municipality: Municipality, slug: str, actor: AuditActor) -> None:
    profile = DEMO_PROFILES[slug]
    existing = departments_by_code(municipality)
    for code, name in dict(profile.departments.values()).items():
        if code not in existing:
            department_ensure(municipality=municipality, code=code, name=name, actor=actor)
    departments = departments_by_code(municipality)
    changed = False
    for row in demo_faq_rows(profile):
        data = clean_faq_data(
            FaqData(
                code=row["code"],
                category=row["category"],
                question=row["question"],
                answer=row["answer"],
                alternatives=tuple(row["alternatives"]),
                department_code=row["department"],
                direct_answer=row["direct_answer"],
                question_en=row["question_en"],
                alternatives_en=tuple(row["alternatives_en"]),
                answer_en=row["answer_en"],
                direct_answer_en=row["direct_answer_en"],
            )
        )
        before = FaqEntry.objects.filter(municipality=municipality, code=data.code).first()
        stamp = before.updated_at if before else None
        entry, created = faq_apply(municipality=municipality, data=data, departments=departments)
        changed = changed or created or entry.updated_at != stamp
    if changed:
        knowledge_touch(municipality=municipality)
    known = {frozenset(g.terms) for g in SynonymGroup.objects.filter(municipality=municipality)}
    for terms in DEMO_SYNONYMS:
        if not any(set(terms) <= group for group in known):
            synonym_add(municipality=municipality, terms=list(terms), actor=actor)
    for code in BUNDLED_SCENARIOS:
        text = bundled_scenario(code)
        definition, scenario_data = scenario_parse_yaml(text)
        department_code = profile.departments[definition.department][0]
        stored = Scenario.objects.filter(municipality=municipality, code=definition.code).first()
        expected = {**scenario_data, "department": department_code}
        if stored is None or stored.digest != scenario_digest(expected):
            scenario_load(
                municipality=municipality,
                yaml_text=text,
                actor=actor,
                department_code=department_code,
            )


def consultation_demo_load(*, warm_index: bool = True) -> None:
    """Knowledge base, synonyms and scenarios for each demo municipality that exists.

    ``warm_index`` builds the search index (embedding every phrasing once, stored in the
    embedding cache) so that the demo's first question does not wait for it.
    """
    actor = AuditActor(label="demo")
    for slug in DEMO_PROFILES:
        municipality = Municipality.objects.filter(slug=slug).first()
        if municipality is None:
            continue
        _load_one(municipality, slug, actor)
        if warm_index:
            index = index_for(municipality)
            logger.info("consultation index of %s: %d entries (%s)", slug, len(index), index.mode)
