"""The admin's setup of resources with weekly slots: saving, audit, bad input, isolation."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError

from madoguchi.audit.models import AuditEntry
from madoguchi.reservations.forms import weekly_parse
from madoguchi.reservations.models import Resource, Slot, WeeklyRule
from tests.isolation import Tenant, assert_cannot_change, assert_cannot_read, snapshot

pytestmark = pytest.mark.django_db

PAGE = "staff/reservations/resources/"


def _data(**changes: str) -> dict[str, str]:
    data = {
        "code": "counter",
        "name": "市民課窓口",
        "name_en": "Citizens' counter",
        "kind": "counter",
        "place": "本庁舎1階",
        "department": "citizens",
        "min_age": "",
        "max_age": "",
        "districts": "中央、北",
        "weekly": "月水金 09:00-12:00 30 2\n火 13:00-15:00 60 1",
        "active": "on",
    }
    data.update(changes)
    return data


def test_admin_adds_a_resource_with_weekly_rules_and_generates_slots(tenant_a: Tenant) -> None:
    client = tenant_a.client("admin")
    assert client.post(tenant_a.url(PAGE), _data()).status_code == 302
    resource = Resource.objects.get(municipality=tenant_a.municipality, code="counter")
    assert resource.department == tenant_a.departments["citizens"]
    assert resource.districts == ["中央", "北"]
    rules = sorted(
        WeeklyRule.objects.filter(resource=resource).values_list(
            "weekday", "slot_minutes", "capacity"
        )
    )
    assert rules == [(0, 30, 2), (1, 60, 1), (2, 30, 2), (4, 30, 2)]
    assert AuditEntry.objects.filter(
        action="reservations.resource.save", object_id=str(resource.pk)
    ).exists()
    # The change form shows the rules as they were typed; an empty weekly box keeps them.
    page = client.get(tenant_a.url(f"{PAGE}?code=counter")).content.decode()
    assert "月 09:00-12:00 30 2" in page
    assert client.post(tenant_a.url(PAGE), _data(weekly="", name="市民課")).status_code == 302
    resource.refresh_from_db()
    assert resource.name == "市民課"
    assert WeeklyRule.objects.filter(resource=resource).count() == 4
    # The resource's slots page (linked from the list) makes the slots of the weekly rules.
    slots = client.post(tenant_a.url("staff/reservations/counter/slots/"), {"action": "weekly"})
    assert slots.status_code == 200
    assert Slot.objects.filter(resource=resource).exists()


def test_weekly_lines_are_parsed() -> None:
    assert weekly_parse("土日 9:00～10:30 45 3\n\n") == [
        {"weekdays": [5, 6], "start": "09:00", "end": "10:30", "minutes": 45, "capacity": 3}
    ]
    with pytest.raises(ValidationError):
        weekly_parse("月 09:00-12:00 30 2\n月曜 09:00-12:00 30 2")


@pytest.mark.parametrize(
    "changes",
    [
        {"code": ""},
        {"code": "窓口"},
        {"name": ""},
        {"kind": "rocket"},
        {"department": "nowhere"},
        {"min_age": "abc"},
        {"min_age": "-1"},
        {"min_age": "70", "max_age": "20"},
        {"weekly": "毎日 09:00-12:00 30 2"},
        {"weekly": "月 12:00-09:00 30 2"},
        {"weekly": "月 09:00-12:00 30 0"},
        {"weekly": "月 25:00-26:00 30 1"},
        {"weekly": "月 09:00-12:00 2 1"},
    ],
)
def test_bad_input_gives_a_japanese_message_and_changes_nothing(
    tenant_a: Tenant, changes: dict[str, str]
) -> None:
    Resource.objects.create(
        municipality=tenant_a.municipality, code="counter", name="元の名称", kind="counter"
    )
    before = snapshot(Resource.objects.all()), snapshot(WeeklyRule.objects.all())
    response = tenant_a.client("admin").post(tenant_a.url(PAGE), _data(**changes))
    assert response.status_code == 400
    assert "入力内容を確認してください" in response.content.decode()
    assert (snapshot(Resource.objects.all()), snapshot(WeeklyRule.objects.all())) == before


def test_only_the_municipality_admin_opens_the_setup(tenant_a: Tenant, tenant_b: Tenant) -> None:
    Resource.objects.create(
        municipality=tenant_a.municipality, code="secret", name="秘密の会場", kind="hall"
    )

    def state() -> list[object]:
        return snapshot(Resource.objects.all()) + snapshot(WeeklyRule.objects.all())

    for role in ("supervisor", "clerk", "viewer"):
        assert_cannot_read(
            tenant_a.client(role), tenant_a.url(PAGE), must_not_contain=["秘密の会場"]
        )
        assert_cannot_change(tenant_a.client(role), tenant_a.url(PAGE), data=_data(), state=state)
    assert_cannot_read(
        tenant_b.client("admin"), tenant_a.url(PAGE), must_not_contain=["秘密の会場"]
    )
    assert_cannot_change(tenant_b.client("admin"), tenant_a.url(PAGE), data=_data(), state=state)
    own = tenant_b.client("admin").get(tenant_b.url(f"{PAGE}?code=secret"))
    assert own.status_code == 200
    assert "秘密の会場" not in own.content.decode()
