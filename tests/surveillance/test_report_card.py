"""The printable report card: QR code of the self-report link and the LINE linking code,
issued again from the case page whenever needed (the token itself is only stored hashed)."""

from __future__ import annotations

import re

import segno
from django.test import Client

from madoguchi.audit.models import AuditEntry, EntryKind
from madoguchi.consultation.services import line_channel_save
from madoguchi.surveillance.models import LineLinkCode, ReportLink
from madoguchi.surveillance.services import report_link_issue, report_link_resolve
from tests.isolation import assert_cannot_change, signed_in_client, snapshot
from tests.surveillance.factories import ACTOR, World, file, recent


def _card_url(world: World, pk: int) -> str:
    return world.kobe.url(f"health/cases/{pk}/report-card/")


def _token(page: str) -> str:
    found = re.search(r'id="card-link">https?://[^<]*/health/report/([^/<]+)/<', page)
    assert found is not None, page
    return found.group(1)


def test_the_case_page_offers_the_card(world: World) -> None:
    case = file(world, recent(), real_today=True).case
    page = signed_in_client(world.nurse).get(world.kobe.url(f"health/cases/{case.pk}/"))
    assert f'action="/kobe/health/cases/{case.pk}/report-card/"' in page.content.decode()


def test_the_card_carries_a_qr_code_of_a_working_link_and_replaces_the_old_one(
    world: World,
) -> None:
    case = file(world, recent(), real_today=True).case
    old = report_link_issue(cases=[case], actor=ACTOR)
    response = signed_in_client(world.nurse).post(_card_url(world, case.pk))
    assert response.status_code == 200
    assert "no-store" in response["Cache-Control"]
    page = response.content.decode()
    token = _token(page)
    url = f"http://testserver/kobe/health/report/{token}/"
    assert segno.make(url, error="m").svg_inline(scale=4).split("<path", 1)[1] in page
    assert report_link_resolve(municipality=world.kobe.municipality, token=token)
    assert Client().get(world.kobe.url(f"health/report/{old}/")).status_code == 404
    assert "山田 太郎" in page
    assert "078-000-0000" in page
    assert 'class="report-card"' in page
    event = AuditEntry.objects.get(kind=EntryKind.EVENT, action="surveillance.report_card_issued")
    assert (event.actor_id, event.data["cases"]) == (world.nurse.pk, [case.pk])
    read = AuditEntry.objects.get(kind=EntryKind.ACCESS, object_id=str(case.pk))
    assert (read.actor_id, read.object_type) == (world.nurse.pk, "surveillance.case")


def test_the_card_shows_a_line_code_when_the_body_has_line(world: World) -> None:
    line_channel_save(
        municipality=world.kobe.municipality,
        channel_secret="secret",
        access_token="token",
        actor=ACTOR,
    )
    case = file(world, recent(), real_today=True).case
    page = signed_in_client(world.nurse).post(_card_url(world, case.pk)).content.decode()
    code = re.search(r'id="card-line-code"[^>]*>([A-Z0-9]{4}-[A-Z0-9]{4})<', page)
    assert code is not None
    row = LineLinkCode.objects.get()
    assert row.token == _token(page)


def test_a_get_issues_nothing(world: World) -> None:
    case = file(world, recent(), real_today=True).case
    before = snapshot(ReportLink.objects.all())
    response = signed_in_client(world.nurse).get(_card_url(world, case.pk))
    assert response.status_code == 302
    assert snapshot(ReportLink.objects.all()) == before


def test_another_body_cannot_issue_a_card(world: World) -> None:
    case = file(world, recent(), real_today=True).case

    def state() -> object:
        return (snapshot(ReportLink.objects.all()), snapshot(LineLinkCode.objects.all()))

    hyogo = signed_in_client(world.hyogo_nurse)
    assert_cannot_change(
        hyogo, f"/{world.hyogo.slug}/health/cases/{case.pk}/report-card/", state=state
    )
    before = state()
    anonymous = Client().post(_card_url(world, case.pk))
    assert anonymous.status_code == 302
    assert "/signin/" in anonymous["Location"] or "login" in anonymous["Location"]
    assert state() == before
