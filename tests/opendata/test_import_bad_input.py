"""Every kind of bad input the issue names gets a precise report and changes nothing."""

from __future__ import annotations

from typing import Any

import pytest

from madoguchi.audit.models import AuditEntry
from madoguchi.opendata.errors import Problem, ProblemCode
from madoguchi.opendata.models import DailyCount, PatientRecord, Publisher
from madoguchi.opendata.report import ImportMode
from tests.isolation import Tenant, snapshot
from tests.opendata.conftest import (
    CALL_CENTER_HEADER,
    PATIENT_HEADER,
    import_file,
    kobe_row,
    make_csv,
)

GOOD = [kobe_row("2020-04-01", "10"), kobe_row("2020-04-02", "20")]


def state() -> tuple[list[dict[str, Any]], list[dict[str, Any]], list[dict[str, Any]]]:
    return (
        snapshot(DailyCount.objects.all()),
        snapshot(PatientRecord.objects.all()),
        snapshot(Publisher.objects.all()),
    )


@pytest.fixture
def kobe(tenant_a: Tenant) -> Tenant:
    """神戸市 with two days already published, so that a refusal has something to keep."""
    report = import_file(tenant_a.municipality, make_csv(GOOD))
    assert report.created == 2
    return tenant_a


def refused(kobe: Tenant, data: bytes, dataset: str = "call_center") -> list[Problem]:
    before = state()
    report = import_file(kobe.municipality, data, dataset)
    assert not report.imported
    assert (report.created, report.updated, report.unchanged) == (0, 0, 0)
    assert state() == before, "a refused file changed the records"
    return list(report.problems)


# --- encodings and file types -------------------------------------------------------------------

UTF16 = "UTF-16 で保存されたファイルは読めません。UTF-8 または Shift_JIS で保存し直してください。"
EUC = "EUC-JP で保存されたファイルのようです。UTF-8 または Shift_JIS で保存し直してください。"
UNREADABLE = (
    "文字コードを読み取れません。UTF-8（BOM付き・なし）または Shift_JIS（cp932）で"
    "保存した CSV ファイルを選んでください。"
)


@pytest.mark.parametrize(
    ("data", "code", "message"),
    [
        (make_csv(GOOD, encoding="utf-16"), ProblemCode.UTF16, UTF16),
        (make_csv(GOOD, encoding="utf-16-le"), ProblemCode.UTF16, UTF16),
        (make_csv(GOOD, encoding="euc_jp"), ProblemCode.EUC_JP, EUC),
        (make_csv(GOOD, encoding="utf-8") + b"\x80\xfd\xfe", ProblemCode.ENCODING, UNREADABLE),
        (
            b"PK\x03\x04\x14\x00\x06\x00" + b"\x00" * 40,
            ProblemCode.SPREADSHEET,
            "Excel 形式のファイルです。CSV（UTF-8 または Shift_JIS）で保存し直してください。",
        ),
        (b"", ProblemCode.EMPTY, "ファイルが空です。"),
        (b"\xef\xbb\xbf\r\n\r\n", ProblemCode.EMPTY, "ファイルが空です。"),
        (
            "受付_年月日,相談件数\r\n2020-04-01,1\x00\r\n".encode(),
            ProblemCode.BINARY,
            "CSV ファイルではないようです（制御文字が含まれています）。",
        ),
    ],
    ids=["utf16-bom", "utf16-no-bom", "euc-jp", "undecodable", "xlsx", "empty", "blank", "nul"],
)
def test_a_file_in_the_wrong_encoding_is_refused_whole(
    kobe: Tenant, data: bytes, code: ProblemCode, message: str
) -> None:
    """The report names the encoding found and what to save the file as instead."""
    assert refused(kobe, data) == [Problem(code, message)]


@pytest.mark.parametrize(
    ("encoding", "label"),
    [("utf-8-sig", "UTF-8（BOM付き）"), ("utf-8", "UTF-8"), ("cp932", "Shift_JIS（cp932）")],
)
def test_utf8_with_or_without_bom_and_shift_jis_are_read(
    tenant_a: Tenant, encoding: str, label: str
) -> None:
    data = make_csv([kobe_row("2020-04-01", "10", "①区役所㈱～")], encoding=encoding)
    report = import_file(tenant_a.municipality, data)
    assert report.imported
    assert report.encoding == label
    assert report.problems == ()
    day = DailyCount.objects.get(municipality=tenant_a.municipality)
    assert (day.count, day.note) == (10, "①区役所㈱～")


# --- columns -------------------------------------------------------------------------------------


def test_missing_required_columns_are_named_in_national_order(kobe: Tenant) -> None:
    data = make_csv(
        [["281000", "兵庫県", "神戸市", ""]],
        ["全国地方公共団体コード", "都道府県名", "市区町村名", "備考"],
    )
    assert refused(kobe, data) == [
        Problem(ProblemCode.MISSING_COLUMNS, "必須の列がありません: 受付_年月日、相談件数")
    ]


def test_a_patients_file_without_no_or_publication_date_is_refused(kobe: Tenant) -> None:
    header = [h for h in PATIENT_HEADER if h not in {"No", "公表_年月日"}]
    data = make_csv([["281000"] + [""] * (len(header) - 1)], header)
    assert refused(kobe, data, "patients") == [
        Problem(ProblemCode.MISSING_COLUMNS, "必須の列がありません: No、公表_年月日")
    ]


def test_a_column_given_twice_under_two_names_is_refused(kobe: Tenant) -> None:
    data = make_csv([["2020-04-01", "1", "2"]], ["受付_年月日", "相談件数", "相談_件数"])
    assert refused(kobe, data) == [
        Problem(
            ProblemCode.DUPLICATE_COLUMN,
            "列「相談件数」が2回以上あります（別名の列も含みます）。",
        )
    ]


def test_broken_quoting_is_refused_with_its_line(kobe: Tenant) -> None:
    data = '受付_年月日,相談件数\r\n2020-04-01,1\r\n2020-04-02,"2\r\n'.encode()
    assert refused(kobe, data) == [
        Problem(
            ProblemCode.CSV_SYNTAX,
            '3行目: 引用符（"）の使い方が正しくないため、CSV として読めません。',
        )
    ]


# --- rows ----------------------------------------------------------------------------------


def test_impossible_and_unreadable_dates_are_named_with_their_lines(kobe: Tenant) -> None:
    data = make_csv(
        [
            kobe_row("2020-04-03", "1"),
            kobe_row("2020-02-30", "1"),
            kobe_row("2021/13/1", "1"),
            kobe_row("昨日", "1"),
            kobe_row("", "1"),
        ]
    )
    assert refused(kobe, data) == [
        Problem(
            ProblemCode.DATE_IMPOSSIBLE,
            "「受付_年月日」の「2020-02-30」は存在しない日付です。",
            3,
            "受付_年月日",
        ),
        Problem(
            ProblemCode.DATE_IMPOSSIBLE,
            "「受付_年月日」の「2021/13/1」は存在しない日付です。",
            4,
            "受付_年月日",
        ),
        Problem(
            ProblemCode.DATE_FORMAT,
            "「受付_年月日」の「昨日」は日付として読めません（例: 2020-01-24、2020/1/24）。",
            5,
            "受付_年月日",
        ),
        Problem(ProblemCode.REQUIRED, "「受付_年月日」が空です。", 6, "受付_年月日"),
    ]


def test_counts_must_be_whole_numbers_from_zero(kobe: Tenant) -> None:
    data = make_csv(
        [kobe_row("2020-04-03", "-5"), kobe_row("2020-04-04", "12.5"), kobe_row("2020-04-05", "三")]
    )
    assert [(p.line, p.code, p.message) for p in refused(kobe, data)] == [
        (2, ProblemCode.COUNT, "「相談件数」の「-5」は0以上の整数ではありません。"),
        (3, ProblemCode.COUNT, "「相談件数」の「12.5」は0以上の整数ではありません。"),
        (4, ProblemCode.COUNT, "「相談件数」の「三」は0以上の整数ではありません。"),
    ]


def patient(number: str, **changes: str) -> list[str]:
    row = dict.fromkeys(PATIENT_HEADER, "")
    row.update(
        {
            "No": number,
            "全国地方公共団体コード": "281000",
            "都道府県名": "兵庫県",
            "市区町村名": "神戸市",
            "公表_年月日": "2020-04-01",
        }
    )
    row.update({k.replace("__", "_"): v for k, v in changes.items()})
    return [row[h] for h in PATIENT_HEADER]


def test_values_outside_the_allowed_sets_are_named_with_the_allowed_ones(kobe: Tenant) -> None:
    data = make_csv(
        [
            patient("1", 患者_年代="25歳"),
            patient("2", 患者_性別="M", 患者_状態="入院中"),
            patient("3", 患者_退院済フラグ="2"),
        ],
        PATIENT_HEADER,
    )
    assert [(p.line, p.column, p.code, p.message) for p in refused(kobe, data, "patients")] == [
        (
            2,
            "患者_年代",
            ProblemCode.NOT_ALLOWED,
            "「患者_年代」の「25歳」は使えない値です。使える値: 10歳未満、10代、20代、30代、"
            "40代、50代、60代、70代、80代、90歳以上（不明なら空欄）。",
        ),
        (
            3,
            "患者_性別",
            ProblemCode.NOT_ALLOWED,
            "「患者_性別」の「M」は使えない値です。使える値: 男性、女性、その他（不明なら空欄）。",
        ),
        (
            3,
            "患者_状態",
            ProblemCode.NOT_ALLOWED,
            "「患者_状態」の「入院中」は使えない値です。使える値: 無症状、軽症、中等症、重症、"
            "死亡（不明なら空欄）。",
        ),
        (
            4,
            "患者_退院済フラグ",
            ProblemCode.NOT_ALLOWED,
            "「患者_退院済フラグ」の「2」は使えない値です。使える値: 1、0（不明なら空欄）。",
        ),
    ]


def test_another_municipalitys_code_is_refused_per_row(kobe: Tenant) -> None:
    data = make_csv(
        [
            kobe_row("2020-04-03", "1"),
            ["2020-04-04", "285013", "兵庫県", "佐用町", "1", ""],
            ["2020-04-05", "281001", "兵庫県", "神戸市", "1", ""],
            ["2020-04-06", "", "兵庫県", "佐用町", "1", ""],
        ]
    )
    assert [(p.line, p.code, p.message) for p in refused(kobe, data)] == [
        (
            3,
            ProblemCode.OTHER_MUNICIPALITY,
            "全国地方公共団体コード「285013」は別の自治体のものです"
            "（取り込み先は 神戸市 281000）。",
        ),
        (
            3,
            ProblemCode.NAME_MISMATCH,
            "「市区町村名」の「佐用町」は取り込み先（神戸市）と合いません。",
        ),
        (
            4,
            ProblemCode.CODE_FORMAT,
            "全国地方公共団体コード「281001」は正しい6桁のコードではありません。",
        ),
        (
            5,
            ProblemCode.NAME_MISMATCH,
            "「市区町村名」の「佐用町」は取り込み先（神戸市）と合いません。",
        ),
    ]


def test_row_shape_duplicates_formulas_and_lengths_are_reported(kobe: Tenant) -> None:
    data = make_csv(
        [
            kobe_row("2020-04-03", "1"),
            ["2020-04-04", "281000", "兵庫県", "神戸市", "1"],
            kobe_row("2020/4/3", "2"),
            kobe_row("2020-04-05", "1", '=HYPERLINK("http://example.com")'),
            kobe_row("2020-04-06", "1", "あ" * 1001),
        ]
    )
    assert [(p.line, p.code, p.message) for p in refused(kobe, data)] == [
        (3, ProblemCode.CELL_COUNT, "列の数が見出しと合いません（見出しは6列、この行は5列）。"),
        (4, ProblemCode.DUPLICATE_KEY, "「受付_年月日」の「2020/4/3」は2行目と重複しています。"),
        (
            5,
            ProblemCode.FORMULA,
            '「備考」の「=HYPERLINK("http://example.com")」は「=」「+」「-」「@」で始まるため、'
            "表計算ソフトで数式として実行されるおそれがあります。先頭の記号を取るか全角にしてください。",
        ),
        (6, ProblemCode.TOO_LONG, "「備考」が長すぎます（1000文字まで、この値は1001文字）。"),
    ]


def test_a_quoted_line_break_keeps_later_line_numbers_true(kobe: Tenant) -> None:
    """Line numbers are the file's lines, so a note spanning two lines shifts the next row."""
    data = make_csv([kobe_row("2020-04-03", "1", "一行目\n二行目"), kobe_row("2020-02-30", "1")])
    [problem] = refused(kobe, data)
    assert problem.line == 4


# --- the modes ---------------------------------------------------------------------------------

MIXED = make_csv(
    [
        kobe_row("2020-04-02", "25"),  # updates the published 20
        kobe_row("2020-04-03", "30"),
        kobe_row("2020-02-30", "1"),
        ["2020-04-04", "285013", "兵庫県", "佐用町", "1", ""],
        kobe_row("2020-04-05", "40"),
    ]
)


def test_all_or_nothing_refuses_the_whole_file_for_one_bad_row(kobe: Tenant) -> None:
    before = state()
    report = import_file(kobe.municipality, MIXED)
    assert state() == before
    assert report.skipped_lines == (4, 5)
    assert report.summary == (
        "取り込みませんでした。問題のある行が2行あります。すべて直すか、"
        "「問題のない行だけ取り込む」を選んでください。"
    )


def test_good_rows_mode_stores_the_rest_and_says_exactly_what_was_skipped(kobe: Tenant) -> None:
    version = Publisher.objects.get(municipality=kobe.municipality).version
    report = import_file(kobe.municipality, MIXED, mode=ImportMode.GOOD_ROWS)
    assert report.imported
    assert (report.created, report.updated, report.unchanged) == (2, 1, 0)
    assert report.skipped_lines == (4, 5)
    assert [(p.line, p.code) for p in report.row_problems] == [
        (4, ProblemCode.DATE_IMPOSSIBLE),
        (5, ProblemCode.OTHER_MUNICIPALITY),
        (5, ProblemCode.NAME_MISMATCH),
    ]
    assert report.summary == (
        "取り込みました: 追加 2 件、更新 1 件、変更なし 0 件。"
        "問題のある 2 行（4、5行目）は取り込んでいません。"
    )
    counts = dict(
        DailyCount.objects.filter(municipality=kobe.municipality).values_list("date__day", "count")
    )
    assert counts == {1: 10, 2: 25, 3: 30, 5: 40}
    assert Publisher.objects.get(municipality=kobe.municipality).version == version + 1


def test_good_rows_mode_still_refuses_a_file_level_problem(kobe: Tenant) -> None:
    before = state()
    report = import_file(
        kobe.municipality, make_csv(GOOD, encoding="utf-16"), mode=ImportMode.GOOD_ROWS
    )
    assert not report.imported
    assert state() == before
    assert report.summary == "取り込みませんでした。ファイル全体の問題を直してください。"


def test_every_attempt_is_audited_with_counts_but_not_cell_values(kobe: Tenant) -> None:
    import_file(kobe.municipality, MIXED)
    entry = AuditEntry.objects.filter(action="opendata.import").order_by("-id").first()
    assert entry is not None
    assert entry.municipality_id == kobe.municipality.pk
    assert entry.data["imported"] is False
    assert entry.data["problems"] == 3
    assert entry.data["skipped_lines"] == [4, 5]
    assert "佐用町" not in str(entry.data)


def test_the_report_lines_say_everything_for_the_command_line(kobe: Tenant) -> None:
    header = ["受付_年月日", "曜日", "全国地方公共団体コード", "相談件数", "メモ"]
    data = make_csv(
        [["2020-04-03", "金", "281000", "1", "x"], ["2020-02-30", "日", "", "1", ""]], header
    )
    report = import_file(kobe.municipality, data, mode=ImportMode.GOOD_ROWS)
    assert report.lines() == [
        "取り込みました: 追加 1 件、更新 0 件、変更なし 0 件。"
        "問題のある 1 行（3行目）は取り込んでいません。",
        "文字コード: UTF-8（BOM付き）",
        "読み飛ばした列（国の項目にないため保存しません）: 曜日",
        "知らない列（読み込んでいません）: メモ",
        "3行目: 「受付_年月日」の「2020-02-30」は存在しない日付です。",
    ]


def test_header_is_matched_whatever_its_width_and_spacing(tenant_a: Tenant) -> None:
    header = [" 受付＿年月日 ", "全国地方公共団体コード", "相談件数"]
    report = import_file(tenant_a.municipality, make_csv([["2020-04-03", "281000", "7"]], header))
    assert report.imported, report.lines()
    assert report.renamed_columns == {"受付＿年月日": "受付_年月日"}


def test_the_header_lists_of_the_kit_are_the_national_ones() -> None:
    """The test builders use the national column order (a guard against typos here)."""
    from madoguchi.opendata.formats import FORMATS

    assert tuple(CALL_CENTER_HEADER) == FORMATS["call_center"].names
    assert tuple(PATIENT_HEADER) == FORMATS["patients"].names
