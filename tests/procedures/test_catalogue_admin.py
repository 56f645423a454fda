"""The admin console's procedure pages: upload with errors by line, preview, publish, withdraw."""

from __future__ import annotations

import io
from typing import Any

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.test import Client

from madoguchi.audit.models import AuditEntry
from madoguchi.procedures.definition_source import DefinitionSourceInvalid, definition_source_read
from madoguchi.procedures.models import Application, Attachment, Draft, Procedure, ProcedureVersion
from madoguchi.procedures.publishing import procedure_version_upload, procedure_withdraw
from madoguchi.procedures.services import ProcedureWithdrawn, application_submit
from tests.isolation import Tenant, assert_cannot_change, assert_cannot_read, snapshot
from tests.procedures.conftest import ACTOR

pytestmark = pytest.mark.django_db

INU = """\
code: inu-toroku
name_ja: 犬の登録
description_ja: 飼い始めた犬を登録します。
department: welfare
fee: 3000
steps:
  - key: owner
    title_ja: 飼い主
    fields:
      - key: name
        type: text
        label_ja: 氏名
      - key: email
        type: email
        label_ja: メールアドレス
  - key: dog
    title_ja: 犬
    fields:
      - key: dog_name
        type: text
        label_ja: 犬の名前
      - key: born
        type: date
        label_ja: 生年月日
        required: false
workflow:
  initial: received
  states:
    received: {label_ja: 受付}
    done: {label_ja: 登録済み, final: true}
  transitions:
    - {from: received, to: done, roles: [clerk, supervisor]}
"""


def _lines(text: str, line: int, new: str) -> str:
    rows = text.splitlines()
    rows[line - 1] = new
    return "\n".join(rows) + "\n"


def problem_of(text: str) -> tuple[int, int, str]:
    with pytest.raises(DefinitionSourceInvalid) as caught:
        definition_source_read(text)
    [problem] = caught.value.problems
    return problem.line, problem.column, problem.message


def staff_url(tenant: Tenant, path: str = "") -> str:
    return tenant.url(f"staff/procedures/{path}")


# --- errors by line ------------------------------------------------------------------------------


def test_the_example_reads_without_problems() -> None:
    assert definition_source_read(INU).definition.code == "inu-toroku"


def test_a_yaml_syntax_error_names_its_line_and_column() -> None:
    text = _lines(INU, 10, "      - key: name: wrong")
    assert problem_of(text) == (
        10,
        18,
        "not valid YAML: mapping values are not allowed here",
    )


def test_an_unknown_field_type_points_at_the_type_line() -> None:
    text = _lines(INU, 14, "        type: telepathy")
    line, column, message = problem_of(text)
    assert (line, column) == (14, 9)
    assert message.startswith(
        "steps[0].fields[1] ('email'): unknown type 'telepathy'; known types: "
    )


def test_a_missing_required_key_points_at_the_mapping_that_lacks_it() -> None:
    text = INU.replace(
        "      - key: dog_name\n        type: text\n        label_ja: 犬の名前\n",
        "      - key: dog_name\n        type: text\n",
    )
    assert problem_of(text) == (
        19,
        9,
        "steps[1].fields[0] ('dog_name'): 'label_ja' is required",
    )


def test_a_missing_top_level_key_points_at_the_first_line() -> None:
    text = INU.replace("name_ja: 犬の登録\n", "")
    assert problem_of(text) == (1, 1, "definition: 'name_ja' is required")


def test_a_field_name_used_in_two_steps_points_at_the_second_use() -> None:
    text = INU.replace("      - key: dog_name\n", "      - key: name\n")
    assert problem_of(text) == (19, 9, "field keys used in more than one step: ['name']")


def test_a_field_name_used_twice_in_one_step_points_at_the_second() -> None:
    text = INU.replace(
        "      - key: email\n        type: email\n", "      - key: name\n        type: email\n"
    )
    assert problem_of(text) == (13, 9, "steps[0].fields[1]: duplicate key 'name'")


def test_a_key_given_twice_in_one_mapping_is_refused_with_both_lines_known() -> None:
    text = INU.replace("fee: 3000\n", "fee: 3000\nfee: 0\n")
    assert problem_of(text) == (6, 1, "key 'fee' is given twice in the same mapping")


def test_an_unknown_state_in_a_transition_points_at_its_line() -> None:
    text = INU.replace("{from: received, to: done,", "{from: received, to: finished,")
    assert problem_of(text) == (
        32,
        24,
        "workflow.transitions[0]: unknown state 'finished'",
    )


def test_aliases_are_refused() -> None:
    text = INU.replace(
        "description_ja: 飼い始めた犬を登録します。",
        "description_ja: &d 飼い始めた犬\neligibility_ja: *d",
    )
    line, _column, message = problem_of(text)
    assert (line, message) == (
        3,
        "anchors and aliases (& and *) are not supported in definitions",
    )


# --- the upload page ----------------------------------------------------------------------------


def _versions() -> list[dict[str, Any]]:
    return snapshot(ProcedureVersion.objects.all())


@pytest.mark.parametrize(
    ("text", "shown"),
    [
        pytest.param(_lines(INU, 10, "      - key: name: wrong"), "10行目 18文字目", id="syntax"),
        pytest.param(_lines(INU, 14, "        type: telepathy"), "14行目 9文字目", id="type"),
        pytest.param(INU.replace("name_ja: 犬の登録\n", ""), "1行目 1文字目", id="missing"),
        pytest.param(
            INU.replace("      - key: dog_name\n", "      - key: name\n"),
            "19行目 9文字目",
            id="duplicate-field",
        ),
        pytest.param(
            INU.replace("department: welfare", "department: nowhere"),
            "4行目 1文字目",
            id="department",
        ),
    ],
)
def test_a_bad_definition_is_shown_by_line_and_nothing_is_stored(
    tenant_a: Tenant, text: str, shown: str
) -> None:
    client = tenant_a.client("admin")
    before = (_versions(), snapshot(Procedure.objects.all()), AuditEntry.objects.count())

    response = client.post(staff_url(tenant_a, "upload/definition/"), {"text": text})

    assert response.status_code == 400
    body = response.content.decode()
    assert shown in body
    assert 'class="source__line source__line--problem"' in body
    # The text stays in the box, so it can be fixed there.
    assert "犬の登録" in body or "inu-toroku" in body
    assert (_versions(), snapshot(Procedure.objects.all()), AuditEntry.objects.count()) == before


def test_an_uploaded_file_becomes_an_unpublished_version(tenant_a: Tenant) -> None:
    client = tenant_a.client("admin")
    upload = io.BytesIO(("\ufeff" + INU).encode("utf-8"))
    upload.name = "inu.yaml"

    response = client.post(staff_url(tenant_a, "upload/definition/"), {"file": upload})

    assert response.status_code == 302
    assert response["Location"] == staff_url(tenant_a, "inu-toroku/versions/1/")
    version = ProcedureVersion.objects.get(procedure__code="inu-toroku")
    assert (version.number, version.published_at, version.source) == (1, None, INU)
    assert version.procedure.current_version is None
    [event] = AuditEntry.objects.filter(action="procedure.version.upload")
    assert event.data == {"code": "inu-toroku", "version": 1}
    # Not in the residents' catalogue, and its page is not found.
    catalogue = Client().get(tenant_a.url("procedures/"))
    assert "犬の登録" not in catalogue.content.decode()
    assert Client().get(tenant_a.url("procedures/inu-toroku/")).status_code == 404


def test_a_file_that_is_not_utf8_is_refused_clearly(tenant_a: Tenant) -> None:
    upload = io.BytesIO(INU.encode("shift_jis"))
    upload.name = "inu.yaml"
    response = tenant_a.client("admin").post(
        staff_url(tenant_a, "upload/definition/"), {"file": upload}
    )
    assert response.status_code == 400
    assert "UTF-8で保存したYAMLファイルを選んでください" in response.content.decode()
    assert not ProcedureVersion.objects.exists()


def test_an_empty_upload_is_refused_clearly(tenant_a: Tenant) -> None:
    response = tenant_a.client("admin").post(staff_url(tenant_a, "upload/definition/"), {})
    assert response.status_code == 400
    assert "定義ファイルを選ぶか、定義（YAML）を貼り付けてください。" in response.content.decode()


def test_uploading_the_same_text_again_stores_nothing_new(tenant_a: Tenant) -> None:
    first = procedure_version_upload(municipality=tenant_a.municipality, text=INU, actor=ACTOR)
    again = procedure_version_upload(municipality=tenant_a.municipality, text=INU, actor=ACTOR)
    assert (first.created, again.created, again.version.pk) == (True, False, first.version.pk)
    assert ProcedureVersion.objects.count() == 1


# --- publish and withdraw ----------------------------------------------------------------------


def test_publishing_puts_the_procedure_in_the_residents_catalogue(tenant_a: Tenant) -> None:
    version = procedure_version_upload(
        municipality=tenant_a.municipality, text=INU, actor=ACTOR
    ).version
    client = tenant_a.client("admin")

    response = client.post(staff_url(tenant_a, "inu-toroku/versions/1/publish/"))

    assert response.status_code == 302
    version.refresh_from_db()
    assert version.published_at is not None
    assert Procedure.objects.get(code="inu-toroku").current_version == version
    [event] = AuditEntry.objects.filter(action="procedure.publish")
    assert event.data == {"code": "inu-toroku", "version": 1}
    assert "犬の登録" in Client().get(tenant_a.url("procedures/")).content.decode()


def test_a_second_upload_leaves_the_published_version_in_place_until_published(
    tenant_a: Tenant,
) -> None:
    procedure_version_upload(municipality=tenant_a.municipality, text=INU, actor=ACTOR)
    procedure_version_upload(
        municipality=tenant_a.municipality, text=INU.replace("3000", "3500"), actor=ACTOR
    )
    inu = Procedure.objects.get(code="inu-toroku")
    assert inu.current_version is None
    assert list(inu.versions.order_by("number").values_list("number", "published_at")) == [
        (1, None),
        (2, None),
    ]
    page = tenant_a.client("admin").get(staff_url(tenant_a)).content.decode()
    assert "未公開の第2版あり" in page


def _submit(version: ProcedureVersion, channel: str = "web") -> Any:
    return application_submit(
        municipality=version.municipality,
        version=version,
        answers={"name": "神戸 太郎", "email": "taro@example.jp", "dog_name": "ポチ"},
        channel=channel,
        actor=ACTOR,
    )


def _published_inu(tenant: Tenant) -> ProcedureVersion:
    version = procedure_version_upload(
        municipality=tenant.municipality, text=INU, actor=ACTOR
    ).version
    tenant.client("admin").post(staff_url(tenant, "inu-toroku/versions/1/publish/"))
    version.refresh_from_db()
    return version


def test_withdrawing_takes_it_off_the_catalogue_and_refuses_new_submissions(
    tenant_a: Tenant,
) -> None:
    version = _published_inu(tenant_a)
    existing = _submit(version).application
    resident = Client()
    resident.post(tenant_a.url("procedures/inu-toroku/"))  # a draft started before
    [draft] = Draft.objects.all()

    response = tenant_a.client("admin").post(staff_url(tenant_a, "inu-toroku/withdraw/"))

    assert response.status_code == 302
    [event] = AuditEntry.objects.filter(action="procedure.withdraw")
    assert event.data == {"code": "inu-toroku"}
    assert "犬の登録" not in resident.get(tenant_a.url("procedures/")).content.decode()
    page = resident.get(tenant_a.url("procedures/inu-toroku/"))
    assert page.status_code == 410
    assert "この手続きの受付は終了しました" in page.content.decode()
    step = resident.post(
        tenant_a.url(f"apply/{draft.pk}/owner/"),
        {"action": "next", "name": "神戸 太郎", "email": "taro@example.jp"},
    )
    assert step.status_code == 410
    before = snapshot(Application.objects.all())
    with pytest.raises(ProcedureWithdrawn):
        _submit(version)
    assert snapshot(Application.objects.all()) == before
    # The application already submitted carries on: staff can open and move it.
    clerk = tenant_a.client("clerk")
    detail = clerk.get(tenant_a.url(f"staff/applications/{existing.receipt_number}/"))
    assert detail.status_code == 200
    # Paper received before the withdrawal can still be entered by staff.
    assert _submit(version, channel="paper").created


def test_a_draft_submitted_after_the_withdrawal_gets_the_clear_page(tenant_a: Tenant) -> None:
    version = _published_inu(tenant_a)
    resident = Client()
    resident.post(tenant_a.url("procedures/inu-toroku/"))
    [draft] = Draft.objects.all()
    resident.post(
        tenant_a.url(f"apply/{draft.pk}/owner/"),
        {"action": "next", "name": "神戸 太郎", "email": "taro@example.jp"},
    )
    resident.post(tenant_a.url(f"apply/{draft.pk}/dog/"), {"action": "next", "dog_name": "ポチ"})
    procedure_withdraw(municipality=tenant_a.municipality, procedure=version.procedure, actor=ACTOR)

    response = resident.post(tenant_a.url(f"apply/{draft.pk}/review/"))

    assert response.status_code == 410
    assert not Application.objects.exists()
    draft.refresh_from_db()
    assert draft.answers["dog_name"] == "ポチ"  # nothing typed is lost


def test_reopening_brings_it_back(tenant_a: Tenant) -> None:
    version = _published_inu(tenant_a)
    procedure_withdraw(municipality=tenant_a.municipality, procedure=version.procedure, actor=ACTOR)
    response = tenant_a.client("admin").post(staff_url(tenant_a, "inu-toroku/reopen/"))
    assert response.status_code == 302
    assert AuditEntry.objects.filter(action="procedure.reopen").count() == 1
    assert Client().get(tenant_a.url("procedures/inu-toroku/")).status_code == 200


def test_withdrawing_twice_writes_one_event(tenant_a: Tenant) -> None:
    version = _published_inu(tenant_a)
    assert procedure_withdraw(
        municipality=tenant_a.municipality, procedure=version.procedure, actor=ACTOR
    )
    assert not procedure_withdraw(
        municipality=tenant_a.municipality, procedure=version.procedure, actor=ACTOR
    )
    assert AuditEntry.objects.filter(action="procedure.withdraw").count() == 1


# --- preview -------------------------------------------------------------------------------------


def _rows() -> tuple[int, int, int, int]:
    return (
        Draft.objects.count(),
        Application.objects.count(),
        Attachment.objects.count(),
        AuditEntry.objects.count(),
    )


def test_the_preview_walks_the_wizard_and_creates_nothing(tenant_a: Tenant) -> None:
    procedure_version_upload(municipality=tenant_a.municipality, text=INU, actor=ACTOR)
    client = tenant_a.client("admin")
    before = _rows()
    base = staff_url(tenant_a, "inu-toroku/versions/1/preview/")

    start = client.get(base)
    assert start.status_code == 200
    body = start.content.decode()
    for text in ("プレビュー", "犬の登録", "この版はまだ公開されていません。"):
        assert text in body
    assert client.post(base)["Location"] == f"{base}owner/"
    wrong = client.post(f"{base}owner/", {"action": "next", "name": "", "email": "not-mail"})
    assert wrong.status_code == 200
    assert "入力エラー" in wrong.content.decode()
    ok = client.post(
        f"{base}owner/", {"action": "next", "name": "神戸 太郎", "email": "taro@example.jp"}
    )
    assert ok["Location"] == f"{base}dog/"
    client.post(f"{base}dog/", {"action": "next", "dog_name": "ポチ"})
    review = client.get(f"{base}review/")
    assert "ポチ" in review.content.decode()
    done = client.post(f"{base}review/")
    assert done.status_code == 200
    assert "申請は送信されていません" in done.content.decode()

    assert _rows() == before


# --- roles and isolation -------------------------------------------------------------------------


ADMIN_PAGES = [
    "",
    "upload/definition/",
    "inu-toroku/",
    "inu-toroku/versions/1/",
    "inu-toroku/versions/1/preview/",
    "inu-toroku/versions/1/preview/owner/",
    "inu-toroku/versions/1/preview/review/",
]


@pytest.mark.parametrize("role", ["supervisor", "clerk", "viewer", "clerk-other"])
def test_only_admins_open_the_pages(tenant_a: Tenant, role: str) -> None:
    procedure_version_upload(municipality=tenant_a.municipality, text=INU, actor=ACTOR)
    client = tenant_a.client(role)
    for path in ADMIN_PAGES:
        assert client.get(staff_url(tenant_a, path)).status_code == 403, path
    state = lambda: (_versions(), snapshot(Procedure.objects.all()))  # noqa: E731
    for path in ["upload/definition/", "inu-toroku/versions/1/publish/", "inu-toroku/withdraw/"]:
        before = state()
        response = client.post(staff_url(tenant_a, path), {"text": INU.replace("3000", "1")})
        assert response.status_code == 403, path
        assert state() == before


def test_admins_pages_answer(tenant_a: Tenant) -> None:
    procedure_version_upload(municipality=tenant_a.municipality, text=INU, actor=ACTOR)
    client = tenant_a.client("admin")
    for path in ADMIN_PAGES:
        assert client.get(staff_url(tenant_a, path)).status_code == 200, path


def test_another_municipality_cannot_read_or_change_the_catalogue(
    tenant_a: Tenant, tenant_b: Tenant
) -> None:
    procedure_version_upload(municipality=tenant_a.municipality, text=INU, actor=ACTOR)
    intruder = tenant_b.client("admin")
    for path in ADMIN_PAGES[1:]:
        if path == "upload/definition/":
            continue
        assert_cannot_read(intruder, staff_url(tenant_b, path), must_not_contain=["犬の登録"])
        assert_cannot_read(intruder, staff_url(tenant_a, path), must_not_contain=["犬の登録"])
    assert "犬の登録" not in intruder.get(staff_url(tenant_b)).content.decode()
    state = lambda: (_versions(), snapshot(Procedure.objects.all()))  # noqa: E731
    for path in ["inu-toroku/versions/1/publish/", "inu-toroku/withdraw/", "inu-toroku/reopen/"]:
        assert_cannot_change(intruder, staff_url(tenant_b, path), state=state)
        assert_cannot_change(intruder, staff_url(tenant_a, path), state=state)
    # An upload in B's console lands in B, with B's departments.
    intruder.post(staff_url(tenant_b, "upload/definition/"), {"text": INU})
    assert set(ProcedureVersion.objects.values_list("municipality__slug", flat=True)) == {
        tenant_a.slug,
        tenant_b.slug,
    }


# --- the command line uses the same reading ------------------------------------------------------


def test_the_command_prints_the_line_of_a_problem(tenant_a: Tenant, tmp_path: Any) -> None:
    bad = tmp_path / "inu.yaml"
    bad.write_text(_lines(INU, 14, "        type: telepathy"), "utf-8")
    err = io.StringIO()
    with pytest.raises(CommandError):
        call_command(
            "procedures", "load", str(bad), "--municipality", tenant_a.municipality.code, stderr=err
        )
    assert err.getvalue().startswith(f"{bad}:14:9: steps[0].fields[1] ('email'): unknown type")
    assert not ProcedureVersion.objects.exists()


def test_the_command_publishes_at_once(tenant_a: Tenant, tmp_path: Any) -> None:
    good = tmp_path / "inu.yaml"
    good.write_text(INU, "utf-8")
    out = io.StringIO()
    call_command(
        "procedures", "load", str(good), "--municipality", tenant_a.municipality.code, stdout=out
    )
    assert out.getvalue() == f"{good}: inu-toroku version 1\n"
    version = ProcedureVersion.objects.get()
    assert (version.source, version.published_at is not None) == (INU, True)


def test_the_api_neither_lists_nor_takes_a_withdrawn_procedure(tenant_a: Tenant) -> None:
    version = _published_inu(tenant_a)
    api = Client()
    listed = api.get(f"/api/v1/{tenant_a.slug}/procedures").json()
    assert [p["code"] for p in listed] == ["inu-toroku"]
    procedure_withdraw(municipality=tenant_a.municipality, procedure=version.procedure, actor=ACTOR)

    assert api.get(f"/api/v1/{tenant_a.slug}/procedures").json() == []
    response = api.post(
        f"/api/v1/{tenant_a.slug}/procedures/inu-toroku/applications",
        data={"answers": {"name": "神戸 太郎", "email": "taro@example.jp", "dog_name": "ポチ"}},
        content_type="application/json",
    )
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "procedure_not_found"
    assert not Application.objects.exists()
