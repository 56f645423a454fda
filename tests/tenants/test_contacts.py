"""Contact points named by key in text and templates; a missing one never invents a number."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError
from django.template import Context, Template

from madoguchi.audit.services import AuditActor
from madoguchi.tenants.contacts import (
    ContactInput,
    contact_point_save,
    contacts_substitute,
    normalize_phone,
)
from tests.isolation import Tenant

ACTOR = AuditActor(label="test")


def _save(tenant: Tenant, key: str, **fields: str) -> None:
    contact_point_save(
        municipality=tenant.municipality,
        key=key,
        data=ContactInput(**{"name": "粗大ごみ受付センター", **fields}),
        actor=ACTOR,
    )


@pytest.mark.parametrize(
    ("typed", "stored"),
    [
        ("078-555-0103", "078-555-0103"),
        ("０７８－５５５－０１０３", "078-555-0103"),
        ("(078)555-0103", "078-555-0103"),
        ("0120-123-456", "0120-123-456"),
        ("090-1234-5678", "090-1234-5678"),
        ("＃７１１９", "#7119"),
        ("", ""),
    ],
)
def test_phone_numbers_are_kept_as_typed_in_half_width(typed: str, stored: str) -> None:
    assert normalize_phone(typed) == stored


@pytest.mark.parametrize("typed", ["12345", "078-555", "tel:0785550103", "078-555-0103-1", "119"])
def test_phone_numbers_that_cannot_be_called_are_refused(typed: str) -> None:
    with pytest.raises(ValidationError) as raised:
        normalize_phone(typed)
    assert "0から始まる10桁か11桁" in raised.value.messages[0]


def test_text_names_contact_points_by_key(tenant_a: Tenant, tenant_b: Tenant) -> None:
    _save(tenant_a, "sodai_gomi", phone="078-555-0103", hours="月〜土 9時〜17時")
    _save(tenant_b, "sodai_gomi", phone="0790-55-0103", note="デモ用の番号です")
    text = "粗大ごみは{contact:sodai_gomi}へ。"
    assert contacts_substitute(text, municipality=tenant_a.municipality) == (
        "粗大ごみは粗大ごみ受付センター（電話 078-555-0103、受付 月〜土 9時〜17時）へ。"
    )
    assert contacts_substitute(text, municipality=tenant_b.municipality) == (
        "粗大ごみは粗大ごみ受付センター（電話 0790-55-0103、デモ用の番号です）へ。"
    )


def test_a_missing_contact_point_becomes_a_neutral_phrase(tenant_a: Tenant) -> None:
    result = contacts_substitute(
        "発熱時は{contact:fever_consultation}へ", municipality=tenant_a.municipality
    )
    assert result == "発熱時は担当窓口（連絡先は準備中です）へ"


def test_the_template_tag_shows_a_contact_point_or_nothing(tenant_a: Tenant) -> None:
    template = Template('{% load contacts %}[{% contact_point m "sodai_gomi" %}]')
    assert template.render(Context({"m": tenant_a.municipality})) == "[]"
    _save(tenant_a, "sodai_gomi", phone="078-555-0103", email="gomi@example.jp")
    html = template.render(Context({"m": tenant_a.municipality}))
    assert '<a href="tel:078-555-0103">078-555-0103</a>' in html
    assert "mailto:gomi@example.jp" in html
    text = Template("{% load contacts %}{{ t|with_contacts:m }}").render(
        Context({"m": tenant_a.municipality, "t": "{contact:sodai_gomi}"})
    )
    assert text == "粗大ごみ受付センター（電話 078-555-0103）"
