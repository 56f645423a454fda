"""The demo sets its contact points through the settings service: no placeholder reaches a page."""

from __future__ import annotations

import re

import pytest
from django.test import Client
from django.urls import get_resolver, reverse
from django.urls.exceptions import NoReverseMatch

from madoguchi.consultation.models import FaqEntry, Scenario
from madoguchi.demo.contacts import DEMO_NOTE
from madoguchi.demo.services import demo_load
from madoguchi.tenants.contacts import contact_point_map, contacts_substitute
from madoguchi.tenants.models import ContactPoint, Municipality
from tests.core.test_menus import _url_names
from tests.isolation import signed_in_client

pytestmark = pytest.mark.django_db

# Numbers the demo used to show: a placeholder and the real city-hall number given for both
# the 粗大ごみ centre and the fever line.
PLACEHOLDERS = ("000-0000", "331-8181")


def test_no_two_purposes_share_a_number_and_every_number_says_it_is_a_demo() -> None:
    demo_load()
    contacts = list(ContactPoint.objects.all())
    assert len(contacts) >= 30
    by_phone: dict[str, set[tuple[int, str]]] = {}
    for c in contacts:
        by_phone.setdefault(c.phone, set()).add((c.municipality_id, c.key))
        assert c.note == DEMO_NOTE
        assert not any(p in c.phone for p in PLACEHOLDERS)
    shared = {phone: keys for phone, keys in by_phone.items() if len(keys) > 1}
    assert shared == {}


def test_every_answer_and_scenario_of_the_demo_names_a_set_contact_point() -> None:
    demo_load()
    for municipality in Municipality.objects.filter(slug__in=["kobe", "sayo"]):
        known = contact_point_map(municipality=municipality)
        texts = [e.answer for e in FaqEntry.objects.filter(municipality=municipality)]
        texts += [s.definition for s in Scenario.objects.filter(municipality=municipality)]
        for text in texts:
            for key in re.findall(r"\{contact:([a-z0-9_]+)\}", str(text)):
                assert key in known, f"{municipality.slug}: {key} is not set"
            shown = contacts_substitute(str(text), municipality=municipality, contacts=known)
            assert "準備中" not in shown
            assert not any(p in shown for p in PLACEHOLDERS)
            assert not re.search(r"\{(phone|contact:)", shown)


def test_no_demo_page_shows_a_placeholder_number() -> None:
    demo_load()
    pages = []
    for slug in ("kobe", "sayo", "hyogo"):
        for name in set(_url_names(get_resolver().url_patterns)):
            try:
                pages.append(reverse(name, kwargs={"municipality_slug": slug}))
            except NoReverseMatch:
                continue
    admin = signed_in_client(
        Municipality.objects.get(slug="kobe").memberships.get(user__username="kobe-admin").user
    )
    nurse = signed_in_client(
        Municipality.objects.get(slug="kobe").memberships.get(user__username="kobe-nurse").user
    )
    seen = 0
    for client in (Client(), admin, nurse):
        for path in pages:
            response = client.get(path)
            if response.status_code != 200 or not response.get("Content-Type", "").startswith(
                "text/html"
            ):
                continue
            seen += 1
            body = response.content.decode()
            for placeholder in PLACEHOLDERS:
                assert placeholder not in body, f"{path} shows {placeholder}"
    assert seen > 20
    chat = Client()
    for question in ("粗大ごみを出したい", "熱があります。どこに相談すればいいですか"):
        body = chat.post("/kobe/chat/", {"question": question}, follow=True).content.decode()
        assert "デモ用の番号です" in body
        assert not any(p in body for p in PLACEHOLDERS)
