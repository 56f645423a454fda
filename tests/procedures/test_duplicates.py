"""Duplicate applications across the web wizard, the JSON API and paper import.

The same person applies through each channel, typing their details a little differently each
time (全角/半角, ひらがな/カタカナ/半角カナ, 西暦/和暦). Whatever the order of the channels,
each later application is flagged with a DuplicateMatch to every earlier one: on the My Number
for the 児童手当, on name, birth date and address for the 特別定額給付金.
"""

from __future__ import annotations

import csv
import html
import io
import itertools
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from django.test import Client, override_settings
from django.utils import timezone
from pytest_django import DjangoDbBlocker

from madoguchi.core.checkdigits import mynumber_check_digit
from madoguchi.procedures.intake import applications_import_csv
from madoguchi.procedures.models import Application, Draft, DuplicateMatch, Procedure
from madoguchi.procedures.receipts import receipt_number_display as display
from madoguchi.procedures.selectors import definition_of
from madoguchi.procedures.services import application_submit
from tests.api.support import api_url, claim, file_answer, post_json, upload_ok
from tests.isolation import Tenant, make_tenant
from tests.procedures.backoffice_fixtures import (
    PNG,
    csv_row,
    file_answer_of,
    move,
    publish_catalogue,
    shared_database,
    staff_context,
    stored_file,
    wizard_submit,
)
from tests.procedures.conftest import ACTOR, KYUFUKIN

JIDO = "jido-teate"
CHANNELS = ("web", "api", "paper")
MYNUMBER = "12345678901" + str(mynumber_check_digit("12345678901"))
OTHER_MYNUMBER = "98765432109" + str(mynumber_check_digit("98765432109"))
PERSON = DuplicateMatch.Basis.PERSON
MYNUMBER_BASIS = DuplicateMatch.Basis.MYNUMBER

ACCOUNT = {
    "bank_code": "0001",
    "branch_code": "001",
    "account_type": "普通",
    "account_number": "1234567",
    "holder_name": "コウベ タロウ",
}

# 神戸 太郎 as he writes himself on each channel.
KYUFUKIN_AS_TYPED = {
    "web": {
        "name": "神戸 太郎",
        "name_kana": "コウベ タロウ",
        "birth_date": "1980-04-01",
        "address": "兵庫県神戸市中央区加納町6丁目5番1号",
    },
    "api": {
        "name": "神戸　太郎",
        "name_kana": "ｺｳﾍﾞ ﾀﾛｳ",
        "birth_date": "昭和55年4月1日",
        "address": "兵庫県神戸市中央区加納町６丁目５番１号",
    },
    "paper": {
        "name": "神戸太郎",
        "name_kana": "こうべ　たろう",
        "birth_date": "S55.4.1",
        "address": "兵庫県 神戸市中央区加納町6丁目5番1号",
    },
}

# The 児童手当 claimant gives the same My Number, but has moved between the claims: only the
# number can tell that it is the same person.
JIDO_AS_TYPED = {
    "web": {"mynumber": MYNUMBER, "address": "兵庫県神戸市中央区加納町6丁目5番1号"},
    "api": {
        "mynumber": MYNUMBER.translate(str.maketrans("0123456789", "０１２３４５６７８９")),
        "address": "兵庫県神戸市須磨区中落合2丁目2番5号",
    },
    "paper": {
        "mynumber": f"{MYNUMBER[:4]} {MYNUMBER[4:8]} {MYNUMBER[8:]}",
        "address": "兵庫県神戸市西区玉津町小山180番地",
    },
}


def kyufukin_answers(channel: str, **changes: Any) -> dict[str, Any]:
    return {
        **KYUFUKIN_AS_TYPED[channel],
        "postal_code": "650-8570",
        "phone": "078-331-8181",
        "email": "",
        "members": [],
        "account": ACCOUNT,
        "agreement": True,
        **changes,
    }


def jido_answers(channel: str, **changes: Any) -> dict[str, Any]:
    return {
        "name": "神戸 太郎",
        "name_kana": "コウベ タロウ",
        "birth_date": "1980-04-01",
        "postal_code": "650-8570",
        "phone": "078-331-8181",
        "email": "",
        "insurance": "kosei",
        "children": [
            {
                "name": "神戸 花子",
                "name_kana": "コウベ ハナコ",
                "birth_date": "2018-06-01",
                "living_together": "together",
            }
        ],
        "account": ACCOUNT,
        **JIDO_AS_TYPED[channel],
        **changes,
    }


@dataclass(frozen=True)
class Town:
    tenant: Tenant
    procedures: dict[str, Procedure]


@pytest.fixture(scope="module")
def town(
    django_db_setup: None,
    django_db_blocker: DjangoDbBlocker,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Town]:
    """神戸市 with the 特別定額給付金, the 児童手当 and the 住民票 (no uniqueness) published."""
    with (
        override_settings(MEDIA_ROOT=tmp_path_factory.mktemp("media")),
        shared_database(django_db_blocker),
    ):
        tenant = make_tenant("281000", "kobe")
        procedures = {
            code: publish_catalogue(tenant.municipality, code, "welfare").procedure
            for code in (KYUFUKIN, JIDO, "juminhyo")
        }
        yield Town(tenant, procedures)


@pytest.fixture(autouse=True)
def _savepoint(db: None) -> None:
    """Each test in a savepoint of the module's transaction."""


# --- the three channels --------------------------------------------------------------------------


def by_web(town: Town, code: str, answers: dict[str, Any]) -> Application:
    """The resident's browser goes through every step of the wizard."""
    files = {"id_document": ("menkyo.png", PNG)} if code == KYUFUKIN else None
    draft_id, _done = wizard_submit(Client(), town.tenant, code, answers, files)
    application = Draft.objects.get(pk=draft_id).application
    assert application is not None
    return application


def by_api(town: Town, code: str, answers: dict[str, Any]) -> Application:
    client = Client()
    body: dict[str, Any] = {"answers": {k: v for k, v in answers.items() if v != ""}}
    if code == KYUFUKIN:
        uploaded = upload_ok(client, "kobe")
        body["answers"]["id_document"] = file_answer(uploaded)
        body["uploads"] = [claim(uploaded)]
    response = post_json(client, api_url("kobe", f"procedures/{code}/applications"), body)
    assert response.status_code == 201, response.content
    return Application.objects.get(receipt_number=response.json()["receipt_number"])


def by_paper(town: Town, code: str, answers: dict[str, Any]) -> Application:
    procedure = town.procedures[code]
    assert procedure.current_version is not None
    row = csv_row(definition_of(procedure.current_version), answers)
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(row), lineterminator="\r\n")
    writer.writeheader()
    writer.writerow(row)
    report = applications_import_csv(
        municipality=town.tenant.municipality,
        procedure=procedure,
        data=out.getvalue().encode("utf-8"),
        actor=ACTOR,
        paper_attachments=code == KYUFUKIN,
    )
    assert (report.imported, report.rejected, report.file_errors) == (1, [], []), report.as_text()
    return Application.objects.filter(channel="paper", procedure=procedure).latest("pk")


APPLY: dict[str, Callable[[Town, str, dict[str, Any]], Application]] = {
    "web": by_web,
    "api": by_api,
    "paper": by_paper,
}


def matches(town: Town) -> set[tuple[str, str, str]]:
    """Every flag as (channel of the later application, channel of the earlier one, basis)."""
    return {
        (m.application.channel, m.other.channel, m.basis)
        for m in DuplicateMatch.objects.filter(
            municipality=town.tenant.municipality
        ).select_related("application", "other")
    }


ORDERS = list(itertools.permutations(CHANNELS))


@pytest.mark.parametrize("order", ORDERS, ids="-".join)
def test_the_same_household_head_is_flagged_across_channels_in_any_order(
    town: Town, order: tuple[str, str, str]
) -> None:
    applied = [APPLY[channel](town, KYUFUKIN, kyufukin_answers(channel)) for channel in order]

    assert [a.channel for a in applied] == list(order)
    first, second, third = order
    assert matches(town) == {
        (second, first, PERSON),
        (third, first, PERSON),
        (third, second, PERSON),
    }
    assert list(applied[0].duplicate_matches.all()) == []
    assert {m.other_id for m in applied[2].duplicate_matches.all()} == {
        applied[0].pk,
        applied[1].pk,
    }


@pytest.mark.parametrize("order", ORDERS, ids="-".join)
def test_the_same_my_number_is_flagged_across_channels_in_any_order(
    town: Town, order: tuple[str, str, str]
) -> None:
    applied = [APPLY[channel](town, JIDO, jido_answers(channel)) for channel in order]

    assert len({a.mynumber_index for a in applied}) == 1
    assert len({a.person_index for a in applied}) == 3  # three addresses
    first, second, third = order
    assert matches(town) == {
        (second, first, MYNUMBER_BASIS),
        (third, first, MYNUMBER_BASIS),
        (third, second, MYNUMBER_BASIS),
    }


def test_the_same_person_at_the_same_address_matches_on_both_grounds(town: Town) -> None:
    earlier = by_api(town, JIDO, jido_answers("web"))
    later = by_paper(town, JIDO, jido_answers("web", name_kana="ｺｳﾍﾞ ﾀﾛｳ"))
    assert sorted(
        (m.application_id, m.other_id, m.basis) for m in DuplicateMatch.objects.all()
    ) == [(later.pk, earlier.pk, MYNUMBER_BASIS), (later.pk, earlier.pk, PERSON)]


# --- who is and is not the same person -----------------------------------------------------------


@pytest.mark.parametrize(
    "changes",
    [
        {"birth_date": "1980-04-02"},
        {"address": "兵庫県神戸市中央区加納町6丁目5番2号"},
        {"name": "神戸 次郎", "name_kana": "コウベ ジロウ"},
    ],
    ids=["birth-date", "address", "name"],
)
def test_different_people_are_not_flagged(town: Town, changes: dict[str, str]) -> None:
    by_web(town, KYUFUKIN, kyufukin_answers("web"))
    by_api(town, KYUFUKIN, kyufukin_answers("api", **changes))
    assert matches(town) == set()


def test_a_different_my_number_is_not_flagged(town: Town) -> None:
    by_api(town, JIDO, jido_answers("web"))
    by_paper(
        town,
        JIDO,
        jido_answers("api", mynumber=OTHER_MYNUMBER, name="灘 次郎", name_kana="ナダ ジロウ"),
    )
    assert matches(town) == set()


def test_only_the_kana_reading_counts_when_both_names_are_given(town: Town) -> None:
    """The kanji may be written with another character; the reading decides (kana preferred)."""
    by_paper(town, KYUFUKIN, kyufukin_answers("paper"))
    by_api(town, KYUFUKIN, kyufukin_answers("api", name="神戸 多朗"))
    assert matches(town) == {("api", "paper", PERSON)}


def test_a_withdrawn_application_is_not_matched(town: Town) -> None:
    withdrawn = by_web(town, KYUFUKIN, kyufukin_answers("web"))
    move(withdrawn, "withdrawn", staff=staff_context(town.tenant, "clerk"))
    standing = by_paper(town, KYUFUKIN, kyufukin_answers("paper"))

    later = by_api(town, KYUFUKIN, kyufukin_answers("api"))

    assert [(m.application_id, m.other_id) for m in DuplicateMatch.objects.all()] == [
        (later.pk, standing.pk)
    ]


def test_another_procedure_is_not_a_duplicate(town: Town) -> None:
    """The same person claiming the 児童手当 is not a second 特別定額給付金."""
    by_web(town, KYUFUKIN, kyufukin_answers("web"))
    by_api(town, JIDO, jido_answers("web"))
    assert matches(town) == set()


def test_a_procedure_without_uniqueness_flags_nothing(town: Town) -> None:
    """住民票の写し may be asked for any number of times."""
    version = town.procedures["juminhyo"].current_version
    assert version is not None
    assert definition_of(version).uniqueness == "none"
    applied = []
    for _copy in range(2):
        document = stored_file(town.tenant.municipality, PNG, "menkyo.png")
        answers = {
            **{k: v for k, v in kyufukin_answers("web").items() if k in JUMINHYO_PERSON},
            "copies": "1",
            "scope": "self",
            "purpose": "employment",
            "id_document": file_answer_of(document),
        }
        result = application_submit(
            municipality=town.tenant.municipality,
            version=version,
            answers=answers,
            channel="web",
            actor=ACTOR,
            owned_attachments=[str(document.pk)],
        )
        applied.append(result.application)
    assert applied[0].person_index == applied[1].person_index != ""
    assert matches(town) == set()


JUMINHYO_PERSON = {"name", "name_kana", "birth_date", "postal_code", "address", "phone"}


# --- staff see the match -------------------------------------------------------------------------


def test_the_console_shows_the_match_on_both_applications(town: Town) -> None:
    earlier = by_paper(town, KYUFUKIN, kyufukin_answers("paper"))
    later = by_web(town, KYUFUKIN, kyufukin_answers("web"))
    clerk = town.tenant.client("clerk")

    def notice(application: Application) -> str:
        response = clerk.get(town.tenant.url(f"staff/applications/{application.receipt_number}/"))
        assert response.status_code == 200
        page = html.unescape(response.content.decode())
        return page.split("<h2>重複の可能性がある申請</h2>", 1)[1].split("</ul>", 1)[0]

    day = timezone.localtime(earlier.submitted_at).strftime("%Y-%m-%d")
    assert (
        f">{display(earlier.receipt_number)}</a>（氏名・生年月日・住所が一致・紙（職員入力）・"
        in notice(later)
    )
    assert f">{display(later.receipt_number)}</a>（氏名・生年月日・住所が一致・Web・" in notice(
        earlier
    )
    assert day in notice(later)
    # A third look-alike appears on the page of the first as well.
    third = by_api(town, KYUFUKIN, kyufukin_answers("api"))
    assert notice(earlier).count("<li>") == 2
    assert f">{display(third.receipt_number)}</a>（氏名・生年月日・住所が一致・API・" in notice(
        earlier
    )
