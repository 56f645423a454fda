"""The demo: two health centres, a clinic, cases with reports and open alerts, three 麻しん
cases; idempotent."""

from __future__ import annotations

import pytest

from madoguchi.surveillance.demo import surveillance_demo_load
from madoguchi.surveillance.models import Alert, Case, HealthCentre, SelfReport
from tests.isolation import snapshot


@pytest.mark.django_db
def test_demo_loads_once() -> None:
    logins = surveillance_demo_load(password="demo-password-2026")
    assert [a["username"] for a in logins] == ["kobe-clinic", "kobe-nurse", "hyogo-nurse"]
    centres = {
        c.name: sorted(c.areas.values_list("code", flat=True)) for c in HealthCentre.objects.all()
    }
    assert centres == {"健康局 保健所": ["281000"], "龍野健康福祉事務所（保健所）": ["285013"]}
    assert Case.objects.filter(disease="covid19").count() == 24
    measles = Case.objects.filter(disease="measles")
    assert [(c.municipality.code, c.report_link) for c in measles] == [("281000", None)] * 3
    assert sorted(c.health["disease_type"] for c in measles) == [
        "clinical",
        "laboratory",
        "modified",
    ]
    assert Case.objects.filter(residence_code="285013", municipality__code="280003").count() == 4
    assert SelfReport.objects.count() > 0
    assert Alert.objects.filter(acknowledged_at__isnull=True).exists()
    before = (snapshot(Case.objects.all()), snapshot(SelfReport.objects.all()))
    assert surveillance_demo_load(password="demo-password-2026") == logins
    assert (snapshot(Case.objects.all()), snapshot(SelfReport.objects.all())) == before
