"""The demo offers message sign-up and town reports: topics, areas, templates and categories."""

from __future__ import annotations

import pytest
from django.test import Client

from madoguchi.audit.models import AuditEntry
from madoguchi.demo.services import demo_load
from madoguchi.messaging.models import Area, Template, Topic
from madoguchi.reports.models import ReportArea, ReportCategory
from madoguchi.tenants.models import Municipality

pytestmark = pytest.mark.django_db

KOBE_WARDS = ["東灘区", "灘区", "中央区", "兵庫区", "北区", "長田区", "須磨区", "垂水区", "西区"]


def test_every_demo_municipality_offers_the_four_topics_with_disaster_urgent() -> None:
    demo_load()
    for slug in ("kobe", "sayo"):
        municipality = Municipality.objects.get(slug=slug)
        topics = {t.name: t for t in Topic.objects.filter(municipality=municipality)}
        assert sorted(topics) == sorted(["子育て", "防災", "ごみ", "イベント"])
        assert {name for name, t in topics.items() if t.urgent} == {"防災"}
        assert all(t.name_en and t.is_active for t in topics.values())
        assert Template.objects.filter(municipality=municipality).count() >= 2
        assert Template.objects.filter(municipality=municipality, topic__urgent=True).exists()
    kobe_areas = Area.objects.filter(municipality__slug="kobe").order_by("order")
    assert [a.name for a in kobe_areas] == KOBE_WARDS
    assert all(a.name_en for a in kobe_areas)
    assert Area.objects.filter(municipality__slug="sayo").count() >= 3


def test_every_report_category_is_routed_to_a_department_of_its_own_municipality() -> None:
    demo_load()
    for slug in ("kobe", "sayo"):
        categories = list(ReportCategory.objects.filter(municipality__slug=slug))
        assert {"道路の損傷", "公園の遊具", "街灯の故障", "不法投棄"} <= {
            c.name for c in categories
        }
        for category in categories:
            assert category.name_en
            assert category.department is not None
            assert category.department.municipality_id == category.municipality_id
        assert ReportArea.objects.filter(municipality__slug=slug).count() >= 3
    assert sorted(
        ReportArea.objects.filter(municipality__slug="kobe").values_list("name", flat=True)
    ) == sorted(KOBE_WARDS)


def test_the_home_page_links_to_both_and_the_pages_offer_the_choices() -> None:
    demo_load()
    client = Client()
    for slug in ("kobe", "sayo"):
        home = client.get(f"/{slug}/").content.decode()
        assert f'href="/{slug}/messages/"' in home
        assert f'href="/{slug}/reports/new/"' in home
    subscribe = client.get("/kobe/messages/").content.decode()
    for name in ("子育て", "防災", "ごみ", "イベント", "東灘区", "西区"):
        assert name in subscribe
    report = client.get("/kobe/reports/new/").content.decode()
    for name in ("道路の損傷", "公園の遊具", "街灯の故障", "不法投棄", "須磨区"):
        assert name in report


def test_loading_again_changes_nothing() -> None:
    demo_load()
    counts = (
        Topic.objects.count(),
        Area.objects.count(),
        Template.objects.count(),
        ReportCategory.objects.count(),
        ReportArea.objects.count(),
    )
    entries = AuditEntry.objects.filter(action__startswith="messaging.").count()
    entries += AuditEntry.objects.filter(action__startswith="reports.").count()
    demo_load()
    assert counts == (
        Topic.objects.count(),
        Area.objects.count(),
        Template.objects.count(),
        ReportCategory.objects.count(),
        ReportArea.objects.count(),
    )
    again = AuditEntry.objects.filter(action__startswith="messaging.").count()
    again += AuditEntry.objects.filter(action__startswith="reports.").count()
    assert again == entries
