"""Tests for madoguchi.procedures.intake: paper intake and bulk status updates from CSV."""

from __future__ import annotations

import copy
import csv
import io
import random
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import IntegrityError, connection

from madoguchi.accounts.permissions import StaffContext
from madoguchi.audit.models import AuditEntry
from madoguchi.core.checkdigits import damm_check_digit, mynumber_check_digit
from madoguchi.procedures import workflow
from madoguchi.procedures.intake import (
    PAPER_DOCUMENTS_KEY,
    CellError,
    FileError,
    ImportReport,
    applications_bulk_status_csv,
    applications_import_csv,
)
from madoguchi.procedures.intake import applications as intake_applications
from madoguchi.procedures.models import (
    Application,
    DuplicateMatch,
    Procedure,
    ProcedureVersion,
    StateChange,
)
from madoguchi.procedures.services import applications_submit_bulk, procedure_publish
from madoguchi.tenants.models import Municipality
from madoguchi.tenants.selectors import membership_list_for_user
from tests.isolation import Tenant, snapshot
from tests.procedures.conftest import ACTOR, KYUFUKIN, kyufukin_data

# --- data ----------------------------------------------------------------------------------------

PAPER = "paper-kyufukin"
ACCOUNT = ["bank_code", "branch_code", "account_type", "account_number", "holder_name"]
HEADER = [
    "name",
    "name_kana",
    "birth_date",
    "postal_code",
    "address",
    "phone",
    "email",
    *(f"account.{part}" for part in ACCOUNT),
    "agreement",
]
MEMBER = ["name", "name_kana", "birth_date", "relationship"]
LABEL_HEADER = [
    "氏名",
    "フリガナ",
    "生年月日",
    "郵便番号",
    "住所",
    "日中に連絡できる電話番号",
    "メールアドレス",
    "振込先口座.金融機関コード",
    "振込先口座.支店コード",
    "振込先口座.預金種目",
    "振込先口座.口座番号",
    "振込先口座.口座名義",
    "申請内容に誤りがないことを確認し、給付金の受給を申請します。",
]


def paper_row(number: int = 0, **changes: str) -> dict[str, str]:
    """A valid row of HEADER's columns; ``number`` makes it a different applicant."""
    row = {
        "name": f"神戸　太郎{number}",
        "name_kana": "コウベ タロウ",
        "birth_date": "昭和55年4月1日",
        "postal_code": "650-8570",
        "address": f"兵庫県神戸市中央区加納町6丁目5番{number}号",
        "phone": "078-331-8181",
        "email": "",
        "account.bank_code": "0001",
        "account.branch_code": "001",
        "account.account_type": "普通",
        "account.account_number": "1234567",
        "account.holder_name": "コウベ タロウ",
        "agreement": "はい",
    }
    row.update(changes)
    return row


def to_csv(header: Sequence[str], rows: Sequence[dict[str, str] | Sequence[str]]) -> str:
    """CSV text as Excel writes it: CRLF, quotes only where needed."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(header)
    for row in rows:
        writer.writerow([row.get(c, "") for c in header] if isinstance(row, dict) else row)
    return out.getvalue()


def without_files(code: str = PAPER) -> dict[str, Any]:
    """The 特別定額給付金 without its file field, so that CSV rows are complete applications."""
    data = copy.deepcopy(kyufukin_data(code=code))
    for step in data["steps"]:
        step["fields"] = [f for f in step["fields"] if f["type"] != "file"]
    return data


def publish_paper(municipality: Municipality) -> Procedure:
    version = procedure_publish(municipality=municipality, data=without_files(), actor=ACTOR)
    return version.procedure


@pytest.fixture
def paper(tenant_a: Tenant) -> Procedure:
    """The 特別定額給付金 without attachments, published in 神戸市."""
    return publish_paper(tenant_a.municipality)


def run_import(
    procedure: Procedure, text: str | bytes, *, paper_attachments: bool = False
) -> ImportReport:
    data = text.encode("utf-8") if isinstance(text, str) else text
    return applications_import_csv(
        municipality=procedure.municipality,
        procedure=procedure,
        data=data,
        actor=ACTOR,
        paper_attachments=paper_attachments,
    )


def counts(report: ImportReport) -> tuple[int, int, int, list[int]]:
    return (
        report.rows,
        report.imported,
        report.duplicates_skipped,
        [r.line for r in report.rejected],
    )


def stored() -> dict[str, Any]:
    """What a refused import must leave as it was."""
    return {
        "applications": snapshot(Application.objects.all()),
        "state_changes": StateChange.objects.count(),
    }


def import_events() -> list[dict[str, Any]]:
    return list(
        AuditEntry.objects.filter(action="application.import")
        .order_by("id")
        .values_list("data", flat=True)
    )


# --- decoding ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "encode",
    [
        pytest.param(lambda text: text.encode("utf-8"), id="utf-8"),
        pytest.param(lambda text: text.encode("utf-8-sig"), id="utf-8 with BOM"),
        pytest.param(lambda text: text.encode("cp932"), id="cp932"),
    ],
)
def test_utf8_with_or_without_bom_and_cp932_files_import_the_same(
    paper: Procedure, encode: Callable[[str], bytes]
) -> None:
    """The three encodings clerks' tools write give the same stored answers."""
    text = to_csv(HEADER, [paper_row(1, address="神戸市中央区１－２　髙島ビル～3F")])

    report = run_import(paper, encode(text))

    assert (counts(report), report.file_errors) == ((1, 1, 0, []), [])
    application = Application.objects.get()
    assert application.channel == "paper"
    assert application.answers["name"] == "神戸 太郎1"
    assert application.answers["address"] == "神戸市中央区1-2 髙島ビル～3F"
    assert application.answers["birth_date"] == "1980-04-01"
    assert application.answers["account"]["holder_name"] == "ｺｳﾍﾞ ﾀﾛｳ"


@pytest.mark.parametrize(
    "data",
    [
        pytest.param(to_csv(HEADER, [paper_row()]).encode("utf-16"), id="utf-16 with BOM"),
        pytest.param(to_csv(HEADER, [paper_row()]).encode("utf-16-le"), id="utf-16-le"),
        pytest.param(random.Random(0).randbytes(4000), id="random bytes"),
        pytest.param(b"name,phone\r\n\x00\x01\x02,3\r\n", id="NUL bytes"),
        pytest.param(b"name\r\n\xa0\xfd\xfe\r\n", id="bytes outside Shift_JIS"),
    ],
)
def test_a_file_in_another_encoding_is_refused_as_a_whole(paper: Procedure, data: bytes) -> None:
    """UTF-16, binary data and bytes cp932 only maps to stand-ins import nothing."""
    before = stored()

    report = run_import(paper, data)

    assert [e.code for e in report.file_errors] == ["encoding"]
    assert report.file_errors[0].message == (
        "文字コードを読み取れません。UTF-8 または Shift_JIS の CSV ファイルにしてください。"
    )
    assert counts(report) == (0, 0, 0, [])
    assert stored() == before


def test_an_empty_file_and_a_broken_quote_are_file_errors(paper: Procedure) -> None:
    """Nothing to read, or a quote left open, refuses the file and names the line."""
    unterminated = to_csv(HEADER, [paper_row(1)]) + '"神戸 次郎,コウベ\r\n'

    empty = run_import(paper, b"\xef\xbb\xbf\r\n\r\n")
    broken = run_import(paper, unterminated)

    assert [(e.code, e.line) for e in empty.file_errors] == [("empty", None)]
    assert [(e.code, e.line) for e in broken.file_errors] == [("csv_format", 3)]
    assert Application.objects.count() == 0


# --- columns -------------------------------------------------------------------------------------


def test_japanese_label_headers_are_accepted_like_keys(paper: Procedure) -> None:
    """氏名, 振込先口座.口座番号 and 世帯員.1.氏名 name the same fields as their keys."""
    header = [
        *LABEL_HEADER,
        "世帯員.1.氏名",
        "世帯員.1.フリガナ",
        "世帯員.1.生年月日",
        "世帯員.1.続柄",
    ]
    values = [*paper_row(1).values(), "神戸 花子", "コウベ ハナコ", "1982-05-06", "配偶者"]
    # 全角 and spaced-out headers normalise to the same label.
    header[0] = " 氏名 "

    report = run_import(paper, to_csv(header, [values]))

    assert (counts(report), report.unknown_columns, report.file_errors) == ((1, 1, 0, []), [], [])
    answers = Application.objects.get().answers
    assert answers["members"] == [
        {
            "name": "神戸 花子",
            "name_kana": "コウベ ハナコ",
            "birth_date": "1982-05-06",
            "relationship": "spouse",
        }
    ]
    assert answers["account"] == {
        "bank_code": "0001",
        "branch_code": "001",
        "account_type": "普通",
        "account_number": "1234567",
        "holder_name": "ｺｳﾍﾞ ﾀﾛｳ",
    }


def test_group_items_and_bank_parts_are_read_from_their_columns(paper: Procedure) -> None:
    """members.N.* are items in column order; a blank item is skipped; errors name the column."""
    header = [*HEADER, *(f"members.{n}.{k}" for n in (1, 2, 3) for k in MEMBER)]
    child = ["神戸 一郎", "コウベ イチロウ", "2010-01-02", "子"]
    good = {**paper_row(1), **dict(zip([f"members.2.{k}" for k in MEMBER], child, strict=True))}
    bad = {
        **paper_row(2, **{"account.account_number": "12345678"}),
        **dict(zip([f"members.1.{k}" for k in MEMBER], child, strict=True)),
        **dict(zip([f"members.3.{k}" for k in MEMBER], child, strict=True)),
        "members.3.birth_date": "2010-02-30",
        "members.3.relationship": "いとこ",
    }

    report = run_import(paper, to_csv(header, [good, bad]))

    assert counts(report) == (2, 1, 0, [3])
    assert report.rejected[0].errors == [
        CellError(
            "members.3.birth_date",
            "date_invalid",
            "存在しない日付です。年・月・日を確認してください。",
        ),
        CellError(
            "members.3.relationship", "choice_invalid", "続柄は選択肢の中から選んでください。"
        ),
        CellError(
            "account.account_number",
            "account_number_format",
            "口座番号は7桁以内の数字で入力してください。",
        ),
    ]
    assert Application.objects.get().answers["members"] == [
        {
            "name": "神戸 一郎",
            "name_kana": "コウベ イチロウ",
            "birth_date": "2010-01-02",
            "relationship": "child",
        }
    ]


def test_missing_required_columns_refuse_the_file_and_list_them(paper: Procedure) -> None:
    """Without a required field's column (or a bank part, or a started item's field) nothing
    is imported; every missing column is named with its label and key."""
    header = [c for c in HEADER if c not in {"name_kana", "account.holder_name", "agreement"}] + [
        "members.1.name"
    ]
    rows = [{**paper_row(1), "members.1.name": "神戸 花子"}]
    before = stored()

    report = run_import(paper, to_csv(header, rows))

    assert report.file_errors == [
        FileError(
            "missing_columns",
            "必要な列がありません：フリガナ（name_kana）、世帯員.1.フリガナ（members.1.name_kana）、"
            "世帯員.1.生年月日（members.1.birth_date）、世帯員.1.続柄（members.1.relationship）、"
            "振込先口座.口座名義（account.holder_name）、"
            "申請内容に誤りがないことを確認し、給付金の受給を申請します。（agreement）",
        )
    ]
    assert report.imported == 0
    assert stored() == before
    assert import_events()[-1]["file_errors"] == ["missing_columns"]


def test_unknown_duplicate_and_unrecognisable_columns(paper: Procedure) -> None:
    """Unknown columns are listed and ignored; two columns for one field refuse the file; a
    header with no known column hints at the encoding."""
    extra = run_import(paper, to_csv([*HEADER, "備考", "", "members.0.name"], [paper_row(1)]))
    twice = run_import(paper, to_csv([*HEADER, "氏名"], [paper_row(2)]))
    nothing = run_import(paper, "ｱｲｳ,ｴｵ\r\n1,2\r\n")

    assert (counts(extra), extra.unknown_columns) == (
        (1, 1, 0, []),
        ["備考", "15列目（見出しなし）", "members.0.name"],
    )
    assert [(e.code, e.message) for e in twice.file_errors] == [
        ("duplicate_column", "同じ項目の列が二つ以上あります：氏名")
    ]
    assert [e.code for e in nothing.file_errors] == ["missing_columns", "no_known_columns"]
    assert Application.objects.count() == 1


# --- rows ----------------------------------------------------------------------------------------


def test_quoted_commas_and_line_breaks_keep_line_numbers_physical(paper: Procedure) -> None:
    """A row starts on the line where its first cell is; quoted line breaks count as lines."""
    rows = [
        paper_row(1, address="神戸市中央区, 加納町"),  # line 2
        paper_row(2, address="一行目\r\n二行目\r\n三行目"),  # lines 3-5: refused
        paper_row(3, postal_code="12"),  # line 6
        paper_row(4, name="改行\nあり"),  # lines 7-8
        paper_row(5, phone="078,331,8181"),  # line 9
    ]

    report = run_import(paper, to_csv(HEADER, rows))

    assert counts(report) == (5, 1, 0, [3, 6, 7, 9])
    assert [[(e.column, e.code) for e in r.errors] for r in report.rejected] == [
        [("address", "line_break")],
        [("postal_code", "postal_code_format")],
        [("name", "line_break")],
        [("phone", "phone_format")],
    ]
    assert Application.objects.get().answers["address"] == "神戸市中央区, 加納町"


def test_a_row_with_values_beyond_the_header_is_refused(paper: Procedure) -> None:
    """A shifted row (one more cell than the header) is refused rather than read askew."""
    row = [*paper_row(1).values(), "はみ出し"]
    trailing = [*paper_row(2).values(), "", ""]  # empty trailing cells are harmless

    report = run_import(paper, to_csv(HEADER, [row, trailing]))

    assert counts(report) == (2, 1, 0, [2])
    assert report.rejected[0].errors == [
        CellError("", "extra_cells", "見出しのない位置に値があります（列の数が見出しより多い）。")
    ]


EVERY_TYPE: dict[str, Any] = {
    "code": "every-type",
    "name_ja": "全項目の手続き",
    "department": "welfare",
    "steps": [
        {
            "key": "main",
            "title_ja": "入力",
            "fields": [
                {
                    "key": "text",
                    "type": "text",
                    "label_ja": "テキスト",
                    "options": {"max_length": 5},
                },
                {
                    "key": "note",
                    "type": "text",
                    "label_ja": "備考",
                    "required": False,
                    "options": {"multiline": True},
                },
                {"key": "kana", "type": "kana", "label_ja": "カナ"},
                {"key": "day", "type": "date", "label_ja": "日付", "options": {"past_only": True}},
                {"key": "postal", "type": "postal_code", "label_ja": "郵便番号"},
                {"key": "address", "type": "address", "label_ja": "住所"},
                {"key": "phone", "type": "phone", "label_ja": "電話"},
                {"key": "email", "type": "email", "label_ja": "メール"},
                {
                    "key": "count",
                    "type": "integer",
                    "label_ja": "人数",
                    "options": {"min": 0, "max": 10},
                },
                {
                    "key": "kind",
                    "type": "choice",
                    "label_ja": "種別",
                    "options": {"choices": [{"value": "a", "label_ja": "甲"}]},
                },
                {"key": "ok", "type": "checkbox", "label_ja": "同意"},
                {"key": "mynumber", "type": "mynumber", "label_ja": "個人番号"},
                {"key": "account", "type": "bank_account", "label_ja": "口座"},
                {
                    "key": "photo",
                    "type": "file",
                    "label_ja": "写真",
                    "required": False,
                    "options": {"accept": ["image/*"]},
                },
                {
                    "key": "people",
                    "type": "group",
                    "label_ja": "人",
                    "required": False,
                    "options": {"fields": [{"key": "day", "type": "date", "label_ja": "日付"}]},
                },
            ],
        }
    ],
    "workflow": {
        "initial": "received",
        "states": {"received": {"label_ja": "受付済"}, "done": {"label_ja": "完了", "final": True}},
        "transitions": [{"from": "received", "to": "done", "roles": ["clerk"]}],
    },
}
MYNUMBER = "12345678901" + str(mynumber_check_digit("12345678901"))
GOOD = {
    "text": "山田",
    "kana": "ヤマダ",
    "day": "2020-01-01",
    "postal": "6500001",
    "address": "神戸市",
    "phone": "0783318181",
    "email": "a@example.jp",
    "count": "3",
    "kind": "甲",
    "ok": "1",
    "mynumber": MYNUMBER,
    **{f"account.{p}": v for p, v in zip(ACCOUNT, ["0001", "001", "1", "1", "ﾔﾏﾀﾞ"], strict=True)},
    "people.1.day": "2001-02-03",
}
BAD_VALUES = [
    ("text", "", "required"),
    ("text", "山田山田山田", "too_long"),
    ("text", "山\x0b田", "control_character"),
    ("kana", "yamada", "not_katakana"),
    ("day", "きのう", "date_format"),
    ("day", "2021-02-29", "date_invalid"),
    ("day", "2999-01-01", "date_in_future"),
    ("postal", "650", "postal_code_format"),
    ("address", "神戸市\n中央区", "line_break"),
    ("phone", "12345", "phone_format"),
    ("email", "a@b", "email_format"),
    ("count", "三", "integer_format"),
    ("count", "11", "integer_range"),
    ("kind", "乙", "choice_invalid"),
    ("ok", "", "required"),
    ("ok", "たぶん", "checkbox_format"),
    ("mynumber", "1234", "mynumber_format"),
    ("mynumber", MYNUMBER[:-1] + str((int(MYNUMBER[-1]) + 1) % 10), "mynumber_check_digit"),
    ("account.bank_code", "1", "bank_code_format"),
    ("account.branch_code", "x", "branch_code_format"),
    ("account.account_type", "貯蓄", "account_type_invalid"),
    ("account.account_number", "", "required"),
    ("account.holder_name", "山田", "holder_name_not_kana"),
    ("account.holder_name", "ﾔﾏﾀﾞ!", "holder_name_symbol"),
    ("people.1.day", "昭和", "date_format"),
]


def test_every_field_types_bad_value_is_reported_with_its_column_and_code(
    tenant_a: Tenant,
) -> None:
    """Each row breaks one value; the report names exactly that column and the web form's code."""
    version = procedure_publish(municipality=tenant_a.municipality, data=EVERY_TYPE, actor=ACTOR)
    header = list(GOOD)
    rows = [GOOD] + [{**GOOD, column: value} for column, value, _code in BAD_VALUES]

    report = run_import(version.procedure, to_csv(header, rows))

    assert report.imported == 1
    found = [[(e.column, e.code) for e in r.errors] for r in report.rejected]
    assert found == [[(column, code)] for column, value, code in BAD_VALUES]
    assert all(e.message and MYNUMBER not in e.message for r in report.rejected for e in r.errors)
    assert report.unknown_columns == []


def test_a_label_two_fields_share_must_be_given_as_a_key(tenant_a: Tenant) -> None:
    """When two fields have the label 住所, a 住所 column is refused; the keys still work."""
    data = copy.deepcopy(EVERY_TYPE)
    [phone] = [f for f in data["steps"][0]["fields"] if f["key"] == "phone"]
    phone["label_ja"] = "住所"
    procedure = procedure_publish(
        municipality=tenant_a.municipality, data=data, actor=ACTOR
    ).procedure
    by_label = [("住所" if c == "address" else c) for c in GOOD]

    refused = run_import(procedure, to_csv(by_label, [list(GOOD.values())]))
    by_key = run_import(procedure, to_csv(list(GOOD), [GOOD]))

    assert [(e.code, e.message) for e in refused.file_errors] == [
        (
            "ambiguous_column",
            "項目名が複数の項目に当てはまります。項目キーで指定してください：住所",
        ),
        ("missing_columns", "必要な列がありません：住所（address）"),
    ]
    assert (by_key.imported, by_key.file_errors) == (1, [])


def test_file_fields_inside_a_group_are_left_on_paper_too(tenant_a: Tenant) -> None:
    """A required file in a group item blocks the import unless its documents are on paper;
    then each item stores None for it and the answers list it."""
    data = copy.deepcopy(EVERY_TYPE)
    [people] = [f for f in data["steps"][0]["fields"] if f["key"] == "people"]
    people["options"]["fields"].append(
        {"key": "doc", "type": "file", "label_ja": "証明書", "options": {"accept": ["image/*"]}}
    )
    procedure = procedure_publish(
        municipality=tenant_a.municipality, data=data, actor=ACTOR
    ).procedure
    text = to_csv(list(GOOD), [GOOD])

    refused = run_import(procedure, text)
    report = run_import(procedure, text, paper_attachments=True)

    assert [e.code for e in refused.file_errors] == ["attachments_required"]
    assert "証明書" in refused.file_errors[0].message
    assert (report.imported, report.rejected) == (1, [])
    answers = Application.objects.get().answers
    assert answers["people"] == [{"day": "2001-02-03", "doc": None}]
    assert (answers["photo"], answers[PAPER_DOCUMENTS_KEY]) == (None, ["photo", "people.doc"])


def test_the_same_rows_are_not_imported_twice(paper: Procedure) -> None:
    """Re-importing a file adds nothing; the same row in a later file (written differently) and a
    repeated row within a file are skipped as already present."""
    first = to_csv(HEADER, [paper_row(1), paper_row(2), paper_row(3, postal_code="x")])
    rewritten = paper_row(2, phone="０７８－３３１－８１８１", birth_date="1980-04-01")
    later = to_csv(list(reversed(HEADER)), [paper_row(4), rewritten, paper_row(4)])

    one = run_import(paper, first)
    first_receipts = sorted(Application.objects.values_list("receipt_number", flat=True))
    before = stored()
    again = run_import(paper, first)
    after_again = stored()
    other = run_import(paper, later.replace("\r\n", "\n"))

    assert counts(one) == (3, 2, 0, [4])
    assert counts(again) == (3, 0, 2, [4])
    assert again.receipts == one.receipts
    assert sorted(one.receipts.values()) == first_receipts
    assert sorted(one.receipts) == [2, 3]
    assert after_again == before
    assert counts(other) == (3, 1, 2, [])
    assert other.receipts[3] == one.receipts[3]  # row 2 of the first file
    assert other.receipts[4] == other.receipts[2]  # the repeated row
    assert Application.objects.count() == 3
    assert [e["imported"] for e in import_events()] == [2, 0, 1]
    assert len(set(Application.objects.values_list("idempotency_key", flat=True))) == 3


def test_one_audit_event_records_the_import_counts(paper: Procedure) -> None:
    """Besides each application's own submit event, one event records the whole file."""
    text = to_csv(HEADER, [paper_row(1), paper_row(2), paper_row(3, postal_code="x")])

    run_import(paper, text)

    [event] = AuditEntry.objects.filter(action="application.import")
    assert (event.object_type, event.object_id, event.actor_label) == (
        "procedures.procedure",
        str(paper.pk),
        "test",
    )
    assert {k: v for k, v in event.data.items() if k != "sha256"} == {
        "procedure": PAPER,
        "version": 1,
        "paper_attachments": False,
        "rows": 3,
        "imported": 2,
        "duplicates_skipped": 0,
        "rejected": 1,
        "file_errors": [],
    }
    # The rows are recorded by their batch (one entry listing them), not one entry each.
    assert AuditEntry.objects.filter(action="application.submit").count() == 0
    [batch] = AuditEntry.objects.filter(action="application.import_batch")
    assert batch.data["lines"] == [2, 3]


@pytest.mark.django_db(transaction=True)
def test_each_batch_commits_on_its_own_and_an_interrupted_import_can_be_run_again(
    tenant_a: Tenant, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A failure in the second batch keeps the first; running the file again imports only the
    rest."""
    monkeypatch.setattr(intake_applications, "IMPORT_BATCH_ROWS", 2)
    procedure = publish_paper(tenant_a.municipality)
    text = to_csv(HEADER, [paper_row(n) for n in range(1, 6)])
    real = applications_submit_bulk
    calls = 0

    def fail_on_second(**kwargs: Any) -> Any:
        nonlocal calls
        calls += 1
        if calls == 2:
            raise ConnectionError("database went away")
        return real(**kwargs)

    monkeypatch.setattr(intake_applications, "applications_submit_bulk", fail_on_second)
    with pytest.raises(ConnectionError):
        run_import(procedure, text)
    assert Application.objects.count() == 2
    monkeypatch.setattr(intake_applications, "applications_submit_bulk", real)

    report = run_import(procedure, text)

    assert counts(report) == (5, 3, 2, [])
    assert Application.objects.count() == 5


def test_a_batch_stores_what_one_submission_would(
    paper: Procedure, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A row imported in a batch is stored like the same answers submitted one at a time
    (answers, searchable columns, history, channel), under its own new receipt number."""
    row = paper_row(7, email="taro@example.jp")
    report = run_import(paper, to_csv(HEADER, [row]))
    imported = Application.objects.get(receipt_number=report.receipts[2])
    Application.objects.all().delete()

    def refuse(**kwargs: Any) -> Any:
        raise IntegrityError("taken meanwhile")

    monkeypatch.setattr(intake_applications, "applications_submit_bulk", refuse)
    one_by_one = run_import(paper, to_csv(HEADER, [row]))
    single = Application.objects.get(receipt_number=one_by_one.receipts[2])

    for field in (
        "answers",
        "email",
        "name_search",
        "person_index",
        "mynumber_index",
        "channel",
        "state",
        "due_date",
        "language",
        "idempotency_key",
        "idempotency_fingerprint",
        "department_id",
    ):
        assert getattr(imported, field) == getattr(single, field), field
    assert imported.receipt_number != single.receipt_number
    assert [(c.from_state, c.to_state) for c in single.state_changes.all()] == [("", "received")]


def test_a_batch_flags_duplicates_among_its_rows_and_earlier_applications(
    paper: Procedure,
) -> None:
    """The same person twice (different answers elsewhere) in one batch and once before: each
    new application is flagged with the others, as one submission at a time would be."""
    run_import(paper, to_csv(HEADER, [paper_row(1)]))
    same_person = [paper_row(1, phone="078-000-0001"), paper_row(1, phone="078-000-0002")]

    report = run_import(paper, to_csv(HEADER, same_person))

    assert report.imported == 2
    earlier = Application.objects.exclude(receipt_number__in=report.receipts.values()).get()
    for receipt in report.receipts.values():
        application = Application.objects.get(receipt_number=receipt)
        others = set(
            DuplicateMatch.objects.filter(application=application).values_list(
                "other_id", flat=True
            )
        )
        new_other = Application.objects.exclude(pk__in=[application.pk, earlier.pk]).get()
        assert others == {earlier.pk, new_other.pk}


def test_a_row_stored_meanwhile_by_another_import_is_counted_once(
    paper: Procedure, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A concurrent import stored a row of this batch after it was read: the batch insert
    fails on its key, the rows are stored one by one, and that row counts as skipped."""
    rows = [paper_row(n) for n in range(3)]
    run_import(paper, to_csv(HEADER, rows[1:2]))  # the other import, committed meanwhile
    # This import looked for stored rows before the other one committed.
    monkeypatch.setattr(intake_applications, "_stored_receipts", lambda version, keys: {})

    report = run_import(paper, to_csv(HEADER, rows))

    assert counts(report) == (3, 2, 1, [])
    assert Application.objects.filter(procedure=paper).count() == 3
    assert set(report.receipts.values()) == set(
        Application.objects.filter(procedure=paper).values_list("receipt_number", flat=True)
    )


# --- attachments ---------------------------------------------------------------------------------


def test_a_procedure_with_required_attachments_is_not_importable_by_default(
    kyufukin: ProcedureVersion,
) -> None:
    """The 特別定額給付金 needs an identity document: without paper_attachments nothing goes in."""
    before = stored()

    report = run_import(kyufukin.procedure, to_csv(HEADER, [paper_row(1)]))

    assert report.file_errors == [
        FileError(
            "attachments_required",
            "この手続きには添付書類（本人確認書類の写し）が必要なため、CSV から登録できません。"
            "書類を紙で受け取っている場合は、紙の添付書類ありとして取り込んでください。",
        )
    ]
    assert stored() == before


def test_paper_attachments_record_that_the_documents_are_on_paper(
    kyufukin: ProcedureVersion,
) -> None:
    """With paper_attachments the file field is skipped and the answers say where it is; every
    other field is still validated."""
    text = to_csv([*HEADER, "id_document"], [paper_row(1), paper_row(2, postal_code="1")])

    report = run_import(kyufukin.procedure, text, paper_attachments=True)
    again = run_import(kyufukin.procedure, text, paper_attachments=True)

    assert counts(report) == (2, 1, 0, [3])
    assert counts(again) == (2, 0, 1, [3])
    assert report.unknown_columns == ["id_document"]
    application = Application.objects.get()
    assert (application.channel, application.state) == ("paper", "received")
    assert application.answers["id_document"] is None
    assert application.answers[PAPER_DOCUMENTS_KEY] == ["id_document"]
    assert application.state_changes.count() == 1
    assert import_events()[0]["paper_attachments"] is True


# --- the report ----------------------------------------------------------------------------------


def test_the_report_renders_as_japanese_text_and_as_csv(paper: Procedure) -> None:
    """Text for the screen or terminal, CSV (with BOM, formulas neutralised) for download."""
    text = to_csv(
        [*HEADER, "=HYPERLINK(1)"], [paper_row(1), paper_row(2, name="", postal_code="1")]
    )

    report = run_import(paper, text)

    assert report.as_text() == (
        "2行のうち、1件を登録しました。登録済みのため省いた行：0件。"
        "誤りのため登録しなかった行：1件。\n"
        "取り込まなかった列：=HYPERLINK(1)\n"
        "3行目\n"
        "  - name [required] 氏名を入力してください。\n"
        "  - postal_code [postal_code_format] "
        "郵便番号は7桁の数字で入力してください（例：650-0001）。\n"
    )
    data = report.as_csv()
    assert data.startswith(b"\xef\xbb\xbf")
    assert list(csv.reader(io.StringIO(data.decode("utf-8-sig")))) == [
        ["行", "列", "コード", "内容"],
        ["", "'=HYPERLINK(1)", "unknown_column", "この列は取り込んでいません。"],
        ["3", "name", "required", "氏名を入力してください。"],
        [
            "3",
            "postal_code",
            "postal_code_format",
            "郵便番号は7桁の数字で入力してください（例：650-0001）。",
        ],
    ]
    refused = run_import(paper, b"")
    assert refused.as_text() == (
        "ファイルに誤りがあるため、1件も登録していません。\n"
        "ファイルの誤り [empty] ファイルが空です。\n"
    )


# --- the command ---------------------------------------------------------------------------------


def test_the_command_prints_the_report_and_fails_when_rows_were_refused(
    paper: Procedure, kyufukin: ProcedureVersion, tmp_path: Path
) -> None:
    """`madoguchi intake applications` succeeds for a clean file and exits non-zero otherwise."""
    clean, mixed = tmp_path / "clean.csv", tmp_path / "mixed.csv"
    clean.write_bytes(to_csv(HEADER, [paper_row(1)]).encode("cp932"))
    mixed.write_text(to_csv(HEADER, [paper_row(2), paper_row(3, phone="1")]), "utf-8")
    args = ["intake", "applications", "--municipality", "281000", "--procedure", PAPER]
    out = io.StringIO()

    call_command(*args, str(clean), stdout=out)
    with pytest.raises(CommandError, match=r"1 row\(s\) refused"):
        call_command(*args, str(mixed), "--report-csv", str(tmp_path / "r.csv"), stdout=out)
    with pytest.raises(CommandError, match="refused; nothing was imported"):
        call_command(*args[:-1], KYUFUKIN, str(clean), stdout=io.StringIO())

    assert out.getvalue().splitlines()[0].startswith("1行のうち、1件を登録しました。")
    assert "3行目" in out.getvalue()
    assert (tmp_path / "r.csv").read_bytes().decode("utf-8-sig").splitlines()[1].startswith("3,")
    assert Application.objects.count() == 2


def test_the_command_accepts_paper_attachments(kyufukin: ProcedureVersion, tmp_path: Path) -> None:
    """--paper-attachments imports a procedure with required documents."""
    path = tmp_path / "forms.csv"
    path.write_text(to_csv(HEADER, [paper_row(1)]), "utf-8")

    call_command(
        "intake",
        "applications",
        "--municipality=281000",
        f"--procedure={KYUFUKIN}",
        "--paper-attachments",
        str(path),
        stdout=io.StringIO(),
    )

    assert Application.objects.get().answers[PAPER_DOCUMENTS_KEY] == ["id_document"]


# --- 10,000 rows ---------------------------------------------------------------------------------


def ten_thousand_rows() -> tuple[str, list[int]]:
    """10,000 rows, every 100th refused in one of five ways; with the refused rows' lines."""
    breakers: list[dict[str, str]] = [
        {"postal_code": "65"},
        {"name_kana": "kobe"},
        {"account.bank_code": "1"},
        {"birth_date": "2999-01-01"},
        {"address": "神戸市\n中央区"},  # two physical lines
    ]
    header = [*HEADER, *(f"members.1.{k}" for k in MEMBER)]
    rows: list[dict[str, str]] = []
    refused: list[int] = []
    line = 2
    for number in range(10_000):
        row = paper_row(number, address=f"神戸市中央区, {number}番")
        if number % 3 == 0:
            row.update({"members.1.name": "神戸 花子", "members.1.name_kana": "コウベ ハナコ"})
            row.update({"members.1.birth_date": "1982-05-06", "members.1.relationship": "配偶者"})
        if number % 100 == 42:
            row.update(breakers[(number // 100) % len(breakers)])
            refused.append(line)
        rows.append(row)
        line += 1 + sum(value.count("\n") for value in row.values())
    return to_csv(header, rows), refused


@pytest.mark.slow
def test_ten_thousand_rows_with_one_percent_bad(paper: Procedure) -> None:
    """Importing a 10,000-row CSV with 1 % bad rows reports exactly those rows, imports the rest,
    and a second import adds nothing."""
    text, refused = ten_thousand_rows()
    data = text.encode("cp932")

    timings: list[tuple[float, float]] = []
    reports: list[ImportReport] = []
    for _attempt in range(2):
        wall, cpu = time.perf_counter(), time.process_time()
        reports.append(run_import(paper, data))
        timings.append((time.perf_counter() - wall, time.process_time() - cpu))
    report, again = reports
    print(
        "\n10,000 rows: first import {:.1f} s ({:.1f} s CPU), "
        "second {:.1f} s ({:.1f} s CPU)".format(*timings[0], *timings[1])
    )

    assert len(refused) == 100
    assert counts(report) == (10_000, 9_900, 0, refused)
    assert counts(again) == (10_000, 0, 9_900, refused)
    assert Application.objects.filter(procedure=paper).count() == 9_900
    assert report.file_errors == again.file_errors == []


# --- batches -------------------------------------------------------------------------------------


def test_each_stored_batch_has_one_audit_event_with_its_rows(
    paper: Procedure, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Valid rows are stored four to a batch here; each batch's event lists its lines and
    receipt numbers, and a batch with nothing new (all duplicates) records no event."""
    monkeypatch.setattr(intake_applications, "IMPORT_BATCH_ROWS", 4)
    rows = [paper_row(n) for n in range(9)]
    rows[5]["postal_code"] = "x"  # line 7, rejected before any batch
    report = run_import(paper, to_csv(HEADER, rows))

    assert counts(report) == (9, 8, 0, [7])
    events = AuditEntry.objects.filter(action="application.import_batch").order_by("id")
    assert [e.data["lines"] for e in events] == [[2, 3, 4, 5], [6, 8, 9, 10]]
    for event in events:
        assert event.data["receipts"] == [report.receipts[line] for line in event.data["lines"]]
        assert (event.object_type, event.object_id) == ("procedures.procedure", str(paper.pk))
    stored = set(
        Application.objects.filter(procedure=paper).values_list("receipt_number", flat=True)
    )
    assert stored == set(report.receipts.values())

    run_import(paper, to_csv(HEADER, rows))
    assert AuditEntry.objects.filter(action="application.import_batch").count() == 2


def test_idempotency_holds_across_batches(
    paper: Procedure, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The same form twice in one file, in different batches, is one application; a later file
    with the rows in another order stores only its new row."""
    monkeypatch.setattr(intake_applications, "IMPORT_BATCH_ROWS", 3)
    rows = [paper_row(n) for n in range(7)] + [paper_row(1)]
    first = run_import(paper, to_csv(HEADER, rows))

    assert counts(first) == (8, 7, 1, [])
    assert first.receipts[9] == first.receipts[3]
    again = run_import(paper, to_csv(HEADER, [*reversed(rows), paper_row(99)]))
    assert counts(again) == (9, 1, 8, [])
    assert Application.objects.filter(procedure=paper).count() == 8
    assert again.receipts[2] == first.receipts[9]


def _fail_inserts_after(table: str, rows: int) -> None:
    """A real database error ("disk full") on every insert once ``table`` holds ``rows`` rows."""
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(
                "CREATE FUNCTION fail_sixth() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "  # noqa: S608 - our own table
                f"IF (SELECT count(*) FROM {table}) >= {rows} THEN "
                "RAISE EXCEPTION 'disk full'; END IF; RETURN NEW; END $$"
            )
            cursor.execute(
                f"CREATE TRIGGER fail_sixth BEFORE INSERT ON {table} "
                "FOR EACH ROW EXECUTE FUNCTION fail_sixth()"
            )
        else:
            cursor.execute(
                f"CREATE TRIGGER fail_sixth BEFORE INSERT ON {table} "  # noqa: S608 - our own table
                f"WHEN (SELECT count(*) FROM {table}) >= {rows} "
                "BEGIN SELECT RAISE(ABORT, 'disk full'); END"
            )


def test_a_failed_batch_keeps_the_stored_ones_and_says_where_to_resume(
    paper: Procedure, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A database error on a row of the second batch ends the import there: the first batch
    and the second's rows before it stay stored, the report names the line from which nothing
    was stored, and importing the file again stores the rest without duplicates."""
    monkeypatch.setattr(intake_applications, "IMPORT_BATCH_ROWS", 4)
    table = Application._meta.db_table
    _fail_inserts_after(table, 5)
    text = to_csv(HEADER, [paper_row(n) for n in range(10)])

    report = run_import(paper, text)

    assert (report.imported, report.duplicates_skipped) == (5, 0)
    [error] = report.file_errors
    assert (error.code, error.line) == ("batch_failed", 7)
    assert sorted(report.receipts) == [2, 3, 4, 5, 6]
    stored = Application.objects.filter(procedure=paper)
    assert set(stored.values_list("receipt_number", flat=True)) == set(report.receipts.values())
    text_report = report.as_text()
    assert "10行のうち、5件を登録しました。" in text_report
    assert "[batch_failed] 7行目：" in text_report
    [event] = AuditEntry.objects.filter(action="application.import")
    assert (event.data["imported"], event.data["file_errors"]) == (5, ["batch_failed"])
    batches = AuditEntry.objects.filter(action="application.import_batch").order_by("id")
    assert [e.data["lines"] for e in batches] == [[2, 3, 4, 5], [6]]

    with connection.cursor() as cursor:
        on_table = f" ON {table}" if connection.vendor == "postgresql" else ""
        cursor.execute(f"DROP TRIGGER fail_sixth{on_table}")
    again = run_import(paper, text)
    assert counts(again) == (10, 5, 5, [])
    assert again.file_errors == []
    assert stored.count() == 10


# --- bulk status ---------------------------------------------------------------------------------


NOBODY = "100000000" + str(damm_check_digit("100000000"))


def staff_of(tenant: Tenant, role: str) -> StaffContext:
    user = tenant.staff[role]
    memberships = membership_list_for_user(user=user, municipality=tenant.municipality)
    return StaffContext(user, tenant.municipality, tuple(memberships), "192.0.2.1")


def applications_in(procedure: Procedure, count: int, *, first: int = 0) -> list[Application]:
    run_import(procedure, to_csv(HEADER, [paper_row(first + n) for n in range(count)]))
    return list(Application.objects.filter(procedure=procedure).order_by("pk")[first:])


def move(application: Application, staff: StaffContext, *states: str) -> Application:
    for state in states:
        application = workflow.application_transition(
            application=application, target=state, staff=staff
        )
    return application


def bulk(tenant: Tenant, text: str, role: str = "supervisor", **kwargs: Any) -> Any:
    return applications_bulk_status_csv(
        municipality=tenant.municipality,
        data=text.encode("utf-8"),
        staff=staff_of(tenant, role),
        **kwargs,
    )


def states(applications: Sequence[Application]) -> list[str]:
    return [Application.objects.get(pk=a.pk).state for a in applications]


@pytest.fixture
def pending(tenant_a: Tenant, paper: Procedure) -> list[Application]:
    """Three applications of 神戸市 waiting for the bank transfer (振込手続き中)."""
    staff = staff_of(tenant_a, "supervisor")
    return [move(a, staff, "reviewing", "transfer_pending") for a in applications_in(paper, 3)]


def test_bank_transfer_results_mark_every_application_paid(
    tenant_a: Tenant, pending: list[Application]
) -> None:
    """受付番号 → 振込済み (a label) or paid (a key), with the お知らせ shown to the resident."""
    text = to_csv(
        ["受付番号", "状態", "お知らせ"],
        [
            [pending[0].receipt_number, "振込済み", "4月30日に振り込みました。"],
            [pending[1].receipt_number[:5] + "-" + pending[1].receipt_number[5:], "paid", ""],
            [pending[2].receipt_number, " 振込済み ", ""],
        ],
    )

    report = bulk(tenant_a, text)

    assert (report.rows, report.applied, report.unchanged, report.rejected) == (3, 3, 0, [])
    assert states(pending) == ["paid", "paid", "paid"]
    assert Application.objects.get(pk=pending[0].pk).public_message == "4月30日に振り込みました。"
    assert StateChange.objects.filter(to_state="paid").count() == 3
    [event] = AuditEntry.objects.filter(action="application.bulk_status")
    assert (event.actor_label, event.data["applied"], event.data["rejected"]) == (
        "kobe-supervisor",
        3,
        0,
    )
    assert report.as_text() == (
        "3行のうち、3件の状態を変更しました。すでにその状態だった申請：0件。\n"
    )

    again = bulk(tenant_a, text)

    assert (again.applied, again.unchanged, again.rejected) == (0, 3, [])
    assert StateChange.objects.filter(to_state="paid").count() == 3


def test_any_bad_row_leaves_every_application_as_it_was(
    tenant_a: Tenant, paper: Procedure, pending: list[Application]
) -> None:
    """A bad receipt, an unknown one, a disallowed transition and a state the procedure does not
    have are all reported, and the good rows are not applied either."""
    [fresh] = applications_in(paper, 1, first=3)  # still 受付済: cannot jump to 振込済み
    receipt = pending[2].receipt_number
    typo = receipt[:-1] + str((int(receipt[-1]) + 1) % 10)
    text = to_csv(
        ["receipt_number", "state"],
        [
            [pending[0].receipt_number, "振込済み"],  # line 2: fine on its own
            [typo, "振込済み"],  # line 3
            [NOBODY, "振込済み"],  # line 4: a valid number nobody has
            [fresh.receipt_number, "振込済み"],  # line 5
            [pending[1].receipt_number, "承認"],  # line 6
            [pending[0].receipt_number, "paid"],  # line 7: twice in one file
            ["", "paid"],  # line 8
        ],
    )
    before = stored()

    report = bulk(tenant_a, text)

    assert report.applied == 0
    assert [(r.line, [(e.column, e.code) for e in r.errors]) for r in report.rejected] == [
        (3, [("receipt_number", "receipt_check_digit")]),
        (4, [("receipt_number", "not_found")]),
        (5, [("state", "transition_not_allowed")]),
        (6, [("state", "unknown_state")]),
        (7, [("receipt_number", "duplicate_receipt")]),
        (8, [("receipt_number", "required")]),
    ]
    assert report.rejected[2].errors[0].message == "「受付済」から「振込済み」には変更できません。"
    assert stored() == before
    assert report.as_text().startswith("誤りがあるため、どの申請の状態も変更していません。\n")
    assert AuditEntry.objects.get(action="application.bulk_status").data["rejected"] == 6


@pytest.mark.parametrize("role", ["viewer", "clerk-other"])
def test_a_transition_the_staff_members_role_may_not_take_is_refused(
    tenant_a: Tenant, pending: list[Application], role: str
) -> None:
    """A viewer, or a clerk of another department, may not record payments: nothing changes."""
    text = to_csv(["受付番号", "状態"], [[a.receipt_number, "振込済み"] for a in pending])

    report = bulk(tenant_a, text, role=role)

    assert [(r.line, r.errors[0].code) for r in report.rejected] == [
        (2, "role_not_allowed"),
        (3, "role_not_allowed"),
        (4, "role_not_allowed"),
    ]
    assert states(pending) == ["transfer_pending"] * 3


def test_a_transition_that_requires_a_reason_takes_it_from_its_column(
    tenant_a: Tenant, paper: Procedure
) -> None:
    """保留中 requires a reason: refused without the 理由 column, applied with it."""
    apps = applications_in(paper, 2)
    rows = [[a.receipt_number, "保留中"] for a in apps]

    refused = bulk(tenant_a, to_csv(["受付番号", "状態"], rows))
    applied = bulk(
        tenant_a,
        to_csv(["受付番号", "状態", "理由"], [[*rows[0], "本人確認中"], [*rows[1], "住所確認"]]),
    )

    assert [(r.line, r.errors[0].code) for r in refused.rejected] == [
        (2, "reason_required"),
        (3, "reason_required"),
    ]
    assert applied.applied == 2
    assert states(apps) == ["on_hold", "on_hold"]


def test_another_municipalitys_receipt_is_not_found_and_changes_nothing(
    tenant_a: Tenant, tenant_b: Tenant, pending: list[Application]
) -> None:
    """A 佐用町 receipt number in 神戸市's file is reported as unknown; neither town changes."""
    theirs = publish_paper(tenant_b.municipality)
    [other] = applications_in(theirs, 1)
    other = move(other, staff_of(tenant_b, "supervisor"), "reviewing", "transfer_pending")
    text = to_csv(
        ["受付番号", "状態"],
        [[pending[0].receipt_number, "振込済み"], [other.receipt_number, "振込済み"]],
    )
    before = stored()

    report = bulk(tenant_a, text)

    assert [(r.line, r.errors) for r in report.rejected] == [
        (3, [CellError("受付番号", "not_found", "この受付番号の申請はありません。")])
    ]
    assert stored() == before
    assert states([pending[0], other]) == ["transfer_pending", "transfer_pending"]


def test_a_change_made_by_someone_else_meanwhile_undoes_the_whole_file(
    tenant_a: Tenant, pending: list[Application]
) -> None:
    """If an application moves between the check and the update, every row is rolled back."""
    staff = staff_of(tenant_a, "supervisor")

    class Interfering:
        """The workflow, but another clerk puts the second application on hold first."""

        transition_allowed = staticmethod(workflow.transition_allowed)

        def application_transition(self, **kwargs: Any) -> Application:
            if kwargs["application"].pk == pending[1].pk:
                workflow.application_transition(
                    application=pending[1], target="paid", staff=staff, public_message=""
                )
            return workflow.application_transition(**kwargs)

    text = to_csv(["受付番号", "状態"], [[a.receipt_number, "振込済み"] for a in pending])
    before = stored()

    report = bulk(tenant_a, text, transition_service=Interfering())

    assert [(r.line, r.errors[0].code) for r in report.rejected] == [(3, "stale")]
    assert report.applied == 0
    assert stored() == before


def test_bulk_status_file_errors(tenant_a: Tenant, pending: list[Application]) -> None:
    """Missing columns and unreadable files are refused as a whole."""
    no_state = bulk(tenant_a, to_csv(["受付番号", "メモ"], [[pending[0].receipt_number, "x"]]))
    unreadable = applications_bulk_status_csv(
        municipality=tenant_a.municipality,
        data="受付番号,状態\r\n".encode("utf-16"),
        staff=staff_of(tenant_a, "supervisor"),
    )

    assert [(e.code, e.message) for e in no_state.file_errors] == [
        ("missing_columns", "必要な列がありません：状態（state）")
    ]
    assert no_state.unknown_columns == ["メモ"]
    assert [e.code for e in unreadable.file_errors] == ["encoding"]
    assert states(pending) == ["transfer_pending"] * 3
