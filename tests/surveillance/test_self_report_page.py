"""The patient's self-report page: nothing preselected, each question answered, 365 read as 36.5."""

from __future__ import annotations

import re

import pytest
from django.test import Client
from django.utils import timezone

from madoguchi.surveillance.models import SelfReport
from madoguchi.surveillance.reports import self_report_submit
from madoguchi.surveillance.rules import REPORT_ITEMS
from madoguchi.surveillance.services import report_link_issue
from tests.surveillance.factories import ACTOR, World, file, recent

ALL_NO = {key: "no" for key, _label in REPORT_ITEMS}


def _link(world: World) -> tuple[str, int]:
    case = file(world, recent(), real_today=True).case
    token = report_link_issue(cases=[case], actor=ACTOR)
    return world.kobe.url(f"health/report/{token}/"), case.pk


def test_no_answer_is_preselected(world: World) -> None:
    url, _pk = _link(world)
    page = Client().get(url).content.decode()
    assert page.count('type="radio"') == 3 * len(REPORT_ITEMS)
    assert " checked" not in page


def test_every_unanswered_question_is_named_and_typed_values_are_kept(world: World) -> None:
    url, _pk = _link(world)
    answered = {key: "no" for key, _label in REPORT_ITEMS[:2]}
    response = Client().post(url, {"temperature": "37.1", "spo2": "96", **answered})
    assert response.status_code == 400
    page = response.content.decode()
    summary = page.split('class="error-summary"', 1)[1].split("</div>", 1)[0]
    for _key, label in REPORT_ITEMS[2:]:
        assert f"{label}：はい・いいえ・わからないのどれかを選んでください。" in summary
    for _key, label in REPORT_ITEMS[:2]:
        assert f"{label}：" not in summary
    assert 'value="37.1"' in page
    assert 'value="96"' in page
    kept = re.search(r'<input[^>]*name="cough"[^>]*value="no"[^>]*>', page)
    assert kept is not None
    assert "checked" in kept.group(0)
    assert SelfReport.objects.count() == 0


def test_answers_are_large_boxes_with_their_labels(world: World) -> None:
    url, _pk = _link(world)
    page = Client().get(url).content.decode()
    assert re.search(
        r'<label class="radio checkbox--large"[^>]*>\s*<input type="radio" name="breathless"'
        r'[^>]*value="yes"[^>]*>\s*はい\s*</label>',
        page,
    )


def test_365_is_read_as_36_5_and_the_patient_is_told(world: World) -> None:
    url, _pk = _link(world)
    response = Client().post(url, {"temperature": "365", **ALL_NO})
    assert response.status_code == 200
    assert "体温は 36.5℃ として受け付けました。" in response.content.decode()
    assert SelfReport.objects.get().items["temperature"] == "36.5"


@pytest.mark.parametrize("raw", ["3650", "45", "3.65", "熱"])
def test_a_temperature_that_cannot_be_read_says_how_to_write_it(world: World, raw: str) -> None:
    url, _pk = _link(world)
    response = Client().post(url, {"temperature": raw, **ALL_NO})
    assert response.status_code == 400
    page = response.content.decode()
    assert "36.5 のように" in page
    assert f'value="{raw}"' in page
    assert SelfReport.objects.count() == 0


def test_the_service_reads_three_digits_only_when_they_make_a_body_temperature(
    world: World,
) -> None:
    case = file(world, recent(), real_today=True).case
    report_link_issue(cases=[case], actor=ACTOR)
    assert case.report_link is not None
    for raw, stored in (("365", "36.5"), ("３７２", "37.2"), ("36", "36.0")):
        outcome = self_report_submit(
            link=case.report_link,
            case=case,
            day=timezone.localdate(),
            values={"temperature": raw},
            urgent_signs=[],
        )
        assert outcome.report.items["temperature"] == stored


def test_an_urgent_sign_goes_through_without_the_other_answers(world: World) -> None:
    """A patient whose lips are purple is told to call at once, not sent back to a form."""
    url, _pk = _link(world)
    response = Client().post(url, {"temperature": "37.0", "urgent_signs": ["lips"]})
    assert response.status_code == 200
    assert "今すぐお電話ください" in response.content.decode()
    assert SelfReport.objects.get().items["answers"]["cough"] == "unknown"
