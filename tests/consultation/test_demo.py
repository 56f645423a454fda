"""The demo knowledge base: realistic size in both demo towns, loaded idempotently."""

from __future__ import annotations

import pytest

from madoguchi.audit.models import AuditEntry
from madoguchi.consultation.models import FaqEntry, Scenario, SynonymGroup
from madoguchi.consultation.selectors import knowledge_version
from madoguchi.demo.services import demo_load
from madoguchi.tenants.models import Municipality


@pytest.mark.django_db
def test_each_demo_municipality_gets_its_own_knowledge_base_once() -> None:
    demo_load()
    counts = {}
    for slug in ("kobe", "sayo"):
        municipality = Municipality.objects.get(slug=slug)
        entries = FaqEntry.objects.filter(municipality=municipality)
        counts[slug] = entries.count()
        categories = set(entries.values_list("category", flat=True))
        assert {
            "ごみ",
            "住民票・戸籍",
            "マイナンバーカード",
            "子育て",
            "税",
            "国民健康保険",
            "発熱・感染症",
            "防災",
        } <= categories
        assert not entries.filter(department=None).exists()
        assert Scenario.objects.filter(municipality=municipality).count() == 2
        assert SynonymGroup.objects.filter(municipality=municipality).count() >= 10
    assert counts["kobe"] >= 60
    assert counts["sayo"] >= 60
    sayo = FaqEntry.objects.get(municipality__slug="sayo", code="juminhyo-shutoku")
    assert "町役場の住民課" in sayo.answer
    assert "{" not in sayo.answer
    versions = {
        m.slug: knowledge_version(municipality=m)
        for m in Municipality.objects.filter(slug__in=["kobe", "sayo"])
    }
    audit = AuditEntry.objects.count()
    demo_load()
    assert AuditEntry.objects.count() == audit
    assert {
        m.slug: knowledge_version(municipality=m)
        for m in Municipality.objects.filter(slug__in=["kobe", "sayo"])
    } == versions
