"""療養証明書: the PDF's text, its number, the audit trail, and who may issue it when."""

from __future__ import annotations

import datetime
import io

import pytest
from django.test import Client
from pdfminer.high_level import extract_text

from madoguchi.audit.models import AuditEntry, EntryKind
from madoguchi.core.checkdigits import is_valid_damm
from madoguchi.surveillance.casework import case_care_update
from madoguchi.surveillance.certificate import certificate_issue
from madoguchi.surveillance.errors import ErrorCode, SurveillanceError
from madoguchi.surveillance.models import Case, CaseStatus, Certificate
from tests.isolation import assert_cannot_change, signed_in_client, snapshot
from tests.surveillance.factories import ACTOR, World, adult, file, recent

D = datetime.date
# adult(): onset 2026-11-17 (day 0), 7 days: the last day of observation is 2026-11-24.
AFTER = D(2026, 11, 27)


def _text(pdf: bytes) -> str:
    return extract_text(io.BytesIO(pdf))


def _state() -> tuple[list[dict[str, object]], int]:
    issued = AuditEntry.objects.filter(action="surveillance.certificate_issued").count()
    return snapshot(Certificate.objects.all()), issued


def test_the_pdf_states_name_birth_date_period_care_and_centre(world: World) -> None:
    case = file(world, adult()).case
    case_care_update(
        case=case,
        care_setting="hotel",
        care_from=D(2026, 11, 19),
        severity="mild",
        improved_on=None,
        actor=ACTOR,
    )
    issued = certificate_issue(case=case, actor=ACTOR, today=AFTER)
    assert issued.pdf.startswith(b"%PDF-")
    text = _text(issued.pdf)
    for expected in (
        "療養証明書",
        "就業制限の期間の証明",
        "山田 太郎（やまだ たろう）",
        "平成2年4月1日（1990-04-01）",
        "令和8年11月17日（2026-11-17） から",
        "令和8年11月24日（2026-11-24） まで",
        "宿泊療養（2026-11-19 から）",
        "発行日 令和8年11月27日（2026-11-27）",
        "神戸市保健所",
        "神戸市",
        issued.certificate.number,
    ):
        assert expected in text, expected
    certificate = issued.certificate
    assert (certificate.period_from, certificate.period_to, certificate.issued_on) == (
        D(2026, 11, 17),
        D(2026, 11, 24),
        AFTER,
    )
    assert certificate.municipality == world.kobe.municipality


def test_numbers_count_the_issues_and_carry_a_check_digit(world: World) -> None:
    case = file(world, adult()).case
    first = certificate_issue(case=case, actor=ACTOR, today=AFTER).certificate.number
    second = certificate_issue(case=case, actor=ACTOR, today=AFTER).certificate.number
    assert first.startswith(f"{case.pk:08d}-01-")
    assert second.startswith(f"{case.pk:08d}-02-")
    for number in (first, second):
        assert is_valid_damm(number.replace("-", ""))


def test_every_issue_is_logged_as_access_and_event(world: World) -> None:
    case = file(world, adult()).case
    issued = certificate_issue(case=case, actor=ACTOR, today=AFTER)
    access = AuditEntry.objects.get(kind=EntryKind.ACCESS, purpose="療養証明書の発行")
    assert (access.object_type, access.object_id, access.chain) == (
        "surveillance.case",
        str(case.pk),
        "281000",
    )
    event = AuditEntry.objects.get(action="surveillance.certificate_issued")
    assert event.data == {"case": case.pk, "number": issued.certificate.number}


def test_an_ended_case_gets_one_before_the_last_day(world: World) -> None:
    case = file(world, adult()).case
    Case.objects.filter(pk=case.pk).update(status=CaseStatus.ENDED)
    issued = certificate_issue(case=case, actor=ACTOR, today=D(2026, 11, 22))
    assert "令和8年11月24日（2026-11-24） まで" in _text(issued.pdf)


@pytest.mark.parametrize(
    ("today", "status", "message"),
    [
        (
            D(2026, 11, 24),
            CaseStatus.OBSERVING,
            "療養期間（2026-11-24 まで）が終わっていないため、療養証明書はまだ発行できません。",
        ),
        (AFTER, CaseStatus.DIED, "死亡の届出がある方の療養証明書は発行できません。"),
    ],
)
def test_refused_while_observing_or_after_death_and_nothing_is_logged(
    world: World, today: datetime.date, status: str, message: str
) -> None:
    case = file(world, adult()).case
    Case.objects.filter(pk=case.pk).update(status=status)
    with pytest.raises(SurveillanceError) as info:
        certificate_issue(case=case, actor=ACTOR, today=today)
    assert (info.value.code, info.value.message) == (ErrorCode.STILL_OBSERVING, message)
    assert _state() == ([], 0)
    assert not AuditEntry.objects.filter(purpose="療養証明書の発行").exists()


def test_downloaded_from_the_case_page(world: World) -> None:
    case = file(world, adult()).case  # observation ended on 2026-11-24
    nurse = signed_in_client(world.nurse)
    page = nurse.get(world.kobe.url(f"health/cases/{case.pk}/")).content.decode()
    url = world.kobe.url(f"health/cases/{case.pk}/certificate.pdf")
    assert f'action="{url}"' in page
    response = nurse.post(url)
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert "no-store" in response["Cache-Control"].split(", ")
    number = Certificate.objects.get().number
    assert response["Content-Disposition"] == f'attachment; filename="ryoyo-shomei-{number}.pdf"'
    text = _text(response.content)
    assert "山田 太郎" in text
    assert "神戸市保健所" in text
    event = AuditEntry.objects.get(action="surveillance.certificate_issued")
    assert event.actor_id == world.nurse.pk
    assert number in nurse.get(world.kobe.url(f"health/cases/{case.pk}/")).content.decode()


def test_a_get_goes_back_to_the_case_page_without_issuing(world: World) -> None:
    case = file(world, adult()).case
    response = signed_in_client(world.nurse).get(
        world.kobe.url(f"health/cases/{case.pk}/certificate.pdf")
    )
    assert response.status_code == 302
    assert response["Location"] == world.kobe.url(f"health/cases/{case.pk}/#certificate")
    assert _state() == ([], 0)


def test_a_case_under_observation_gets_a_japanese_409_and_no_pdf(world: World) -> None:
    case = file(world, recent(), real_today=True).case
    nurse = signed_in_client(world.nurse)
    page = nurse.get(world.kobe.url(f"health/cases/{case.pk}/")).content.decode()
    assert "療養証明書はまだ発行できません。" in page
    response = nurse.post(world.kobe.url(f"health/cases/{case.pk}/certificate.pdf"))
    assert response.status_code == 409
    assert response["Content-Type"].startswith("text/html")
    body = response.content.decode()
    assert "療養証明書を発行できません" in body
    assert f"療養期間（{case.observation_end.isoformat()} まで）が終わっていない" in body
    assert _state() == ([], 0)


def test_other_centres_other_staff_and_clinics_are_refused(world: World) -> None:
    case = file(world, adult()).case
    hyogo_case = file(world, adult(residence_code="285013", name="佐用 次郎")).case
    kobe_url = world.kobe.url(f"health/cases/{case.pk}/certificate.pdf")
    hyogo = f"/{world.hyogo.slug}/health/cases"
    refused: list[tuple[Client, str]] = [
        (signed_in_client(world.hyogo_nurse), kobe_url),
        (signed_in_client(world.hyogo_nurse), f"{hyogo}/{case.pk}/certificate.pdf"),
        (signed_in_client(world.nurse), f"{hyogo}/{hyogo_case.pk}/certificate.pdf"),
        (
            signed_in_client(world.nurse),
            world.kobe.url(f"health/cases/{hyogo_case.pk}/certificate.pdf"),
        ),
        (signed_in_client(world.clinic.user), kobe_url),
        (world.kobe.client("clerk"), kobe_url),
        (world.sayo.client("admin"), world.sayo.url(f"health/cases/{case.pk}/certificate.pdf")),
    ]
    for client, url in refused:
        assert_cannot_change(client, url, state=_state)
    assert not AuditEntry.objects.filter(purpose="療養証明書の発行").exists()


def test_a_name_outside_the_bmp_prints_whole(world: World) -> None:
    """𠮷 (U+20BB7) is CID 13706 of Adobe-Japan1; the characters around it stay intact."""
    case = file(world, adult(name="𠮷田 髙子", name_kana="よしだ たかこ")).case
    text = _text(certificate_issue(case=case, actor=ACTOR, today=AFTER).pdf)
    assert "(cid:13706)田 髙子（よしだ たかこ）" in text
