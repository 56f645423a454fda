"""One-stop bundles: 転入ワンストップ opens a 転入届, a 国民健康保険 and a 児童手当 application.

神戸市 has only the kit's two departments, so the parts are published with overrides: the
転入届 (and the bundle itself) to the citizens department (市民課), the other two to welfare
(福祉課). Each part is worked by its own department; the resident sees all of them.
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from django.test import Client
from pytest_django import DjangoDbBlocker

from madoguchi.core.checkdigits import mynumber_check_digit
from madoguchi.procedures.definitions import DefinitionError
from madoguchi.procedures.models import Application, Draft, Procedure, ProcedureVersion
from madoguchi.procedures.receipts import lookup_secret_matches, receipt_number_display
from madoguchi.procedures.receipts import receipt_number_display as display
from madoguchi.procedures.selectors import definition_of
from madoguchi.procedures.services import (
    SubmissionInvalid,
    SubmitResult,
    bundle_submit,
    draft_start,
)
from tests.isolation import Tenant, make_tenant
from tests.procedures.backoffice_fixtures import (
    CITIZENS,
    WELFARE,
    back_office_state,
    move,
    publish_catalogue,
    shared_database,
    staff_context,
    wizard_submit,
)
from tests.procedures.conftest import ACTOR

BUNDLE = "tennyu-onestop"
PARTS = {"tennyu-todoke": "citizens", "kokuho-kanyu": "welfare", "jido-teate": "welfare"}
NAMES = {
    "tennyu-todoke": "転入届（事前申請）",
    "kokuho-kanyu": "国民健康保険の加入届",
    "jido-teate": "児童手当 認定請求",
}
MYNUMBER = "12345678901" + str(mynumber_check_digit("12345678901"))
NOTE = "前住所の資格喪失証明書を確認中"

ANSWERS: dict[str, Any] = {
    "name": "神戸 太郎",
    "name_kana": "コウベ タロウ",
    "birth_date": "1985-10-10",
    "mynumber": MYNUMBER,
    "phone": "078-331-8181",
    "email": "",
    "moved_in_date": "2024-04-01",
    "postal_code": "650-8570",
    "address": "兵庫県神戸市中央区加納町6丁目5番1号",
    "previous_address": "大阪府大阪市北区中之島1丁目3番20号",
    "members": [{"name": "神戸 花子", "name_kana": "コウベ ハナコ", "birth_date": "1987-02-02"}],
    "kokuho_reason": "moved_in",
    "kokuho_members": "2",
    "insurance": "kokumin",
    "children": [
        {
            "name": "神戸 一郎",
            "name_kana": "コウベ イチロウ",
            "birth_date": "2019-08-08",
            "living_together": "together",
        }
    ],
    "account": {
        "bank_code": "0001",
        "branch_code": "001",
        "account_type": "普通",
        "account_number": "1234567",
        "holder_name": "コウベ タロウ",
    },
}


@dataclass(frozen=True)
class City:
    tenant: Tenant
    other: Tenant  # 佐用町, where nothing is published
    bundle: ProcedureVersion


@pytest.fixture(scope="module")
def city(django_db_setup: None, django_db_blocker: DjangoDbBlocker) -> Iterator[City]:
    with shared_database(django_db_blocker):
        tenant = make_tenant("281000", "kobe")
        for code, department in PARTS.items():
            publish_catalogue(tenant.municipality, code, department)
        bundle = publish_catalogue(tenant.municipality, BUNDLE, "citizens")
        yield City(tenant, make_tenant("285013", "sayo"), bundle)


@pytest.fixture(autouse=True)
def _savepoint(db: None) -> None:
    """Each test in a savepoint of the module's transaction."""


def submit(city: City, **changes: Any) -> list[SubmitResult]:
    return bundle_submit(
        municipality=city.tenant.municipality,
        version=city.bundle,
        answers={**ANSWERS, **changes},
        channel="web",
        actor=ACTOR,
    )


def part_rows(page: str, table: str = 'id="bundle-parts"') -> list[tuple[str, ...]]:
    section = page.split(table, 1)[1].split("</table>", 1)[0]
    return [
        tuple(re.findall(r"<td>(.*?)</td>", row))
        for row in re.findall(r"<tr>(.*?)</tr>", section)
        if "<td>" in row
    ]


def status_page(city: City, application: Application, secret: str) -> str:
    response = Client().post(
        city.tenant.url("status/"),
        {"receipt_number": application.receipt_number, "secret": secret},
    )
    assert response.status_code == 200
    return html.unescape(response.content.decode())


# --- publishing ----------------------------------------------------------------------------------


def test_a_bundle_cannot_be_published_before_its_parts(city: City) -> None:
    sayo = city.other.municipality
    with pytest.raises(DefinitionError) as exc:
        publish_catalogue(sayo, BUNDLE, "citizens")
    assert str(exc.value) == "parts: procedure 'tennyu-todoke' is not published in 285013"
    publish_catalogue(sayo, "tennyu-todoke", "citizens")
    with pytest.raises(DefinitionError) as exc:
        publish_catalogue(sayo, BUNDLE, "citizens")
    assert str(exc.value) == "parts: procedure 'kokuho-kanyu' is not published in 285013"
    assert list(Procedure.objects.filter(municipality=sayo).values_list("code", flat=True)) == [
        "tennyu-todoke"
    ]


# --- submitting ----------------------------------------------------------------------------------


def test_the_bundle_opens_one_application_per_part_in_its_department(city: City) -> None:
    results = submit(city)

    applications = [r.application for r in results]
    assert [a.procedure.code for a in applications] == list(PARTS)
    assert [a.department.code for a in applications] == list(PARTS.values())
    assert [
        (a.state, a.channel, r.created) for a, r in zip(applications, results, strict=True)
    ] == [("received", "web", True)] * 3
    [secret] = {r.secret for r in results}
    assert secret is not None
    [bundle] = {a.bundle for a in applications}
    assert bundle is not None
    for application in applications:
        assert lookup_secret_matches(application.receipt_number, secret, application.secret_hash)
        fields = {f.key for f in definition_of(application.version).fields}
        assert set(application.answers) <= fields
        assert application.answers["name_kana"] == "コウベ タロウ"
    assert "children" in applications[2].answers
    assert "children" not in applications[0].answers
    assert "mynumber" not in applications[0].answers  # the 転入届 does not ask for it
    assert Application.objects.filter(municipality=city.tenant.municipality).count() == 3


def test_invalid_answers_for_one_part_store_nothing(city: City) -> None:
    before = back_office_state(city.tenant.municipality)
    with pytest.raises(SubmissionInvalid) as exc:
        submit(city, kokuho_members="0", children=[])
    assert sorted(exc.value.errors) == ["children", "kokuho_members"]
    assert back_office_state(city.tenant.municipality) == before


def test_submitting_the_same_draft_twice_returns_the_same_three(city: City) -> None:
    draft = draft_start(municipality=city.tenant.municipality, procedure=city.bundle.procedure)
    first = bundle_submit(
        municipality=city.tenant.municipality,
        version=city.bundle,
        answers=ANSWERS,
        channel="web",
        actor=ACTOR,
        draft=draft,
    )
    again = bundle_submit(
        municipality=city.tenant.municipality,
        version=city.bundle,
        answers=ANSWERS,
        channel="web",
        actor=ACTOR,
        draft=draft,
    )
    assert [r.application.pk for r in again] == [r.application.pk for r in first]
    assert [(r.created, r.secret) for r in again] == [(False, None)] * 3
    assert Application.objects.filter(municipality=city.tenant.municipality).count() == 3
    assert Draft.objects.get(pk=draft.pk).application_id == first[0].application.pk


# --- what the resident and each department see ---------------------------------------------------


def test_the_status_page_of_any_part_shows_the_other_parts(city: City) -> None:
    results = submit(city)
    applications = [r.application for r in results]
    move(applications[1], "reviewing", staff=staff_context(city.tenant, "clerk"))
    secret = results[0].secret
    assert secret is not None
    states = ["受付済", "審査中", "受付済"]
    departments = [CITIZENS, WELFARE, WELFARE]
    rows = [
        (NAMES[a.procedure.code], department, a.receipt_number, state)
        for a, department, state in zip(applications, departments, states, strict=True)
    ]
    for index, application in enumerate(applications):
        page = status_page(city, application, secret)
        assert part_rows(page) == [row for i, row in enumerate(rows) if i != index]
        assert f'id="status-state">{states[index]}</strong>' in page


def test_each_department_sees_the_other_parts_states_but_not_their_notes(city: City) -> None:
    todoke, kokuho, jido = (r.application for r in submit(city))
    welfare = city.tenant.client("clerk")
    citizens = city.tenant.client("clerk-other")
    url = city.tenant.url
    assert (
        welfare.post(
            url(f"staff/applications/{kokuho.receipt_number}/"), {"action": "note", "text": NOTE}
        ).status_code
        == 302
    )
    move(kokuho, "reviewing", staff=staff_context(city.tenant, "clerk"))

    def page(client: Client, application: Application) -> str:
        response = client.get(url(f"staff/applications/{application.receipt_number}/"))
        assert response.status_code == 200
        return html.unescape(response.content.decode())

    def parts(text: str) -> list[str]:
        section = text.split('<ul id="bundle-parts">', 1)[1].split("</ul>", 1)[0]
        return re.findall(r"<li>(.*?)</li>", section)

    todoke_page = page(citizens, todoke)
    assert parts(todoke_page) == [
        f"{NAMES['kokuho-kanyu']}（{WELFARE}）{display(kokuho.receipt_number)}：審査中",
        f"{NAMES['jido-teate']}（{WELFARE}）{display(jido.receipt_number)}：受付済",
    ]
    assert NOTE not in todoke_page
    jido_page = page(welfare, jido)
    assert parts(jido_page) == [
        f"{NAMES['tennyu-todoke']}（{CITIZENS}）{display(todoke.receipt_number)}：受付済",
        f"{NAMES['kokuho-kanyu']}（{WELFARE}）{display(kokuho.receipt_number)}：審査中",
    ]
    assert NOTE not in jido_page
    assert NOTE in page(welfare, kokuho)
    # Seeing a part's state does not open it: 市民課 still cannot read 福祉課's application.
    assert citizens.get(url(f"staff/applications/{kokuho.receipt_number}/")).status_code == 404


# --- the web wizard ------------------------------------------------------------------------------


def test_the_bundle_wizard_works_end_to_end(city: City) -> None:
    draft_id, done = wizard_submit(Client(), city.tenant, BUNDLE, ANSWERS)

    draft = Draft.objects.get(pk=draft_id)
    applications = list(
        Application.objects.filter(municipality=city.tenant.municipality).order_by("pk")
    )
    assert [a.procedure.code for a in applications] == list(PARTS)
    assert draft.application_id == applications[0].pk
    assert len({a.bundle for a in applications}) == 1
    page = html.unescape(done.content.decode())
    assert part_rows(page) == [
        (
            NAMES[a.procedure.code],
            department,
            receipt_number_display(a.receipt_number),
            f"{a.due_date.year}年{a.due_date.month}月{a.due_date.day}日ごろ",
        )
        for a, department in zip(applications, [CITIZENS, WELFARE, WELFARE], strict=True)
    ]
    shown = re.search(r'<span class="code" id="lookup-secret">([^<]+)</span>', page)
    assert shown is not None
    secret = shown.group(1)
    assert f'id="receipt-number">{receipt_number_display(applications[0].receipt_number)}<' in page
    for application in applications:
        status = status_page(city, application, secret)
        assert len(part_rows(status)) == 2
