"""Tests for madoguchi.procedures.zengin (全銀協 総合振込 files)."""

from __future__ import annotations

import dataclasses
import datetime
import unicodedata
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from madoguchi.procedures.fieldtypes import BANK_HOLDER_CHARACTERS, to_bank_kana
from madoguchi.procedures.zengin import (
    Payment,
    Remitter,
    TransferFileError,
    TransferFileErrorCode,
    build_transfer_csv,
    build_transfer_file,
    find_payment_errors,
    parse_transfer_file,
)

Code = TransferFileErrorCode

REMITTER = Remitter(
    requester_code="1234567890",
    requester_name="コウベシ",
    transfer_date=datetime.date(2024, 6, 5),
    bank_code="0001",
    bank_name="ミズホ",
    branch_code="001",
    branch_name="トウキヨウ",
    account_type="普通",
    account_number="7654321",
)
PAYMENT = Payment(
    bank_code="0009",
    bank_name="ミツイスミトモ",
    branch_code="123",
    branch_name="コウベ",
    account_type="普通",
    account_number="1234567",
    recipient_name="コウベ タロウ",
    amount=100_000,
    customer_code1="1234567890",
)
SECOND = Payment(
    bank_code="0005",
    branch_code="045",
    account_type=2,
    account_number="89",
    recipient_name="やまだ はなこ",
    amount=200_000,
    customer_code2="42",
)
# What the bank_account field type stores (fieldtypes.BankAccountType).
BANK_ACCOUNT = {
    "bank_code": "0001",
    "branch_code": "001",
    "account_type": "当座",
    "account_number": "0012345",
    "holder_name": "ﾔﾏﾀﾞ ﾀﾛｳ",
}
SPACES = b" "


def records_of(data: bytes) -> list[bytes]:
    """Split a CRLF file into its records, checking that every record ends with CRLF."""
    assert data.endswith(b"\r\n")
    return data[:-2].split(b"\r\n")


def refusal(remitter: Remitter, payments: list[Payment]) -> TransferFileError:
    with pytest.raises(TransferFileError) as caught:
        build_transfer_file(remitter, payments)
    return caught.value


# Layout ----------------------------------------------------------------------------------------


def test_every_record_is_120_single_byte_characters() -> None:
    """Each record is 120 bytes of cp932, and each byte decodes to one 半角 character."""
    records = records_of(build_transfer_file(REMITTER, [PAYMENT, SECOND]))
    assert len(records) == 5
    for record in records:
        assert len(record) == 120
        text = record.decode("cp932")
        assert len(text) == 120
        assert all(unicodedata.east_asian_width(char) in ("Na", "H") for char in text)


def test_the_records_are_header_data_trailer_end() -> None:
    records = records_of(build_transfer_file(REMITTER, [PAYMENT, SECOND]))
    assert [record[:1] for record in records] == [b"1", b"2", b"2", b"8", b"9"]


def test_without_line_breaks_the_file_is_bare_records() -> None:
    data = build_transfer_file(REMITTER, [PAYMENT], line_ending=b"")
    assert len(data) == 4 * 120
    assert b"\r" not in data
    assert b"\n" not in data
    assert data == build_transfer_file(REMITTER, [PAYMENT]).replace(b"\r\n", b"")


def test_only_crlf_or_nothing_may_end_a_record() -> None:
    with pytest.raises(ValueError, match="line_ending"):
        build_transfer_file(REMITTER, [PAYMENT], line_ending=b"\n")


def test_header_fields_are_at_the_spec_offsets() -> None:
    header = records_of(build_transfer_file(REMITTER, [PAYMENT]))[0]
    assert header[0:1] == b"1"  # データ区分
    assert header[1:3] == b"21"  # 種別コード: 総合振込
    assert header[3:4] == b"0"  # コード区分: JIS
    assert header[4:14] == b"1234567890"  # 振込依頼人コード
    assert header[14:54] == "ｺｳﾍﾞｼ".encode("cp932").ljust(40, SPACES)  # 振込依頼人名
    assert header[54:58] == b"0605"  # 振込指定日 MMDD
    assert header[58:62] == b"0001"  # 仕向銀行番号
    assert header[62:77] == "ﾐｽﾞﾎ".encode("cp932").ljust(15, SPACES)  # 仕向銀行名
    assert header[77:80] == b"001"  # 仕向支店番号
    assert header[80:95] == "ﾄｳｷﾖｳ".encode("cp932").ljust(15, SPACES)  # 仕向支店名
    assert header[95:96] == b"1"  # 預金種目: 普通
    assert header[96:103] == b"7654321"  # 口座番号
    assert header[103:120] == SPACES * 17  # ダミー


def test_data_record_fields_are_at_the_spec_offsets() -> None:
    data = records_of(build_transfer_file(REMITTER, [PAYMENT, SECOND]))
    first, second = data[1], data[2]
    assert first[0:1] == b"2"  # データ区分
    assert first[1:5] == b"0009"  # 被仕向銀行番号
    assert first[5:20] == "ﾐﾂｲｽﾐﾄﾓ".encode("cp932").ljust(15, SPACES)  # 被仕向銀行名
    assert first[20:23] == b"123"  # 被仕向支店番号
    assert first[23:38] == "ｺｳﾍﾞ".encode("cp932").ljust(15, SPACES)  # 被仕向支店名
    assert first[38:42] == b"0000"  # 手形交換所番号
    assert first[42:43] == b"1"  # 預金種目
    assert first[43:50] == b"1234567"  # 口座番号
    assert first[50:80] == "ｺｳﾍﾞ ﾀﾛｳ".encode("cp932").ljust(30, SPACES)  # 受取人名
    assert first[80:90] == b"0000100000"  # 振込金額
    assert first[90:91] == b"0"  # 新規コード
    assert first[91:101] == b"1234567890"  # 顧客コード1
    assert first[101:111] == b"0000000000"  # 顧客コード2
    assert first[111:112] == b"7"  # 振込指定区分: 電信扱
    assert first[112:113] == SPACES  # 識別表示
    assert first[113:120] == SPACES * 7  # ダミー
    # Optional names left blank, short numbers zero-filled, 当座 given as 2.
    assert second[5:20] == SPACES * 15
    assert second[23:38] == SPACES * 15
    assert second[42:43] == b"2"
    assert second[43:50] == b"0000089"
    assert second[91:111] == b"0000000000" + b"0000000042"


def test_trailer_holds_the_count_and_the_sum_and_the_end_record_is_blank() -> None:
    records = records_of(build_transfer_file(REMITTER, [PAYMENT, SECOND]))
    trailer, end = records[3], records[4]
    assert trailer[0:1] == b"8"
    assert trailer[1:7] == b"000002"  # 合計件数
    assert trailer[7:19] == b"000000300000"  # 合計金額
    assert trailer[19:120] == SPACES * 101
    assert end == b"9" + SPACES * 119


def test_transfer_date_is_written_as_month_and_day() -> None:
    remitter = dataclasses.replace(REMITTER, transfer_date=datetime.date(2025, 1, 9))
    header = records_of(build_transfer_file(remitter, [PAYMENT]))[0]
    assert header[54:58] == b"0109"


@pytest.mark.parametrize(
    ("typed", "written"),
    [("1", b"1"), (1, b"1"), ("普通", b"1"), ("当座", b"2"), (2, b"2"), ("その他", b"9")],
)
def test_remitter_account_type_is_written_as_its_digit(typed: str | int, written: bytes) -> None:
    remitter = dataclasses.replace(REMITTER, account_type=typed)
    assert records_of(build_transfer_file(remitter, [PAYMENT]))[0][95:96] == written


@pytest.mark.parametrize(
    ("typed", "written"),
    [("普通", b"1"), ("当座預金", b"2"), ("貯蓄", b"4"), (4, b"4"), ("9", b"9")],
)
def test_payment_account_type_is_written_as_its_digit(typed: str | int, written: bytes) -> None:
    payment = dataclasses.replace(PAYMENT, account_type=typed)
    assert records_of(build_transfer_file(REMITTER, [payment]))[1][42:43] == written


def test_options_are_written_as_given() -> None:
    payment = dataclasses.replace(PAYMENT, new_code="1", transfer_class="8")
    record = records_of(build_transfer_file(REMITTER, [payment]))[1]
    assert record[90:91] == b"1"
    assert record[111:112] == b"8"


# Names -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "written"),
    [
        ("コウベ タロウ", b"\xba\xb3\xcd\xde \xc0\xdb\xb3"),  # ﾍﾞ is ﾍ (0xCD) and ﾞ (0xDE)
        ("こうべ　たろう", "ｺｳﾍﾞ ﾀﾛｳ".encode("cp932")),  # ひらがな, ideographic space
        ("ｺｳﾍﾞ ﾀﾛｳ", "ｺｳﾍﾞ ﾀﾛｳ".encode("cp932")),  # already bank kana
        ("キャッシュ", "ｷﾔﾂｼﾕ".encode("cp932")),  # small kana made large
        ("ｷｬｯｼｭ ｧｨｩｪｫ", "ｷﾔﾂｼﾕ ｱｲｳｴｵ".encode("cp932")),
        ("yamada taro", b"YAMADA TARO"),
        ("ＹＡＭＡＤＡ　Ｔａｒｏ", b"YAMADA TARO"),
        ("パーク", "ﾊﾟ-ｸ".encode("cp932")),  # ﾟ separate, 長音 as a hyphen
        ("カ）ヤマダショウジ", "ｶ)ﾔﾏﾀﾞｼﾖｳｼﾞ".encode("cp932")),
        ("ヴァン", "ｳﾞｱﾝ".encode("cp932")),
    ],
)
def test_recipient_names_are_written_in_bank_kana(name: str, written: bytes) -> None:
    payment = dataclasses.replace(PAYMENT, recipient_name=name)
    record = records_of(build_transfer_file(REMITTER, [payment]))[1]
    assert record[50:80] == written.ljust(30, SPACES)


def test_a_name_of_exactly_30_characters_after_conversion_fits() -> None:
    payment = dataclasses.replace(PAYMENT, recipient_name="ガ" * 15)  # ｶﾞ x 15
    record = records_of(build_transfer_file(REMITTER, [payment]))[1]
    assert record[50:80] == "ｶﾞ".encode("cp932") * 15


def test_a_requester_name_of_40_characters_fits() -> None:
    remitter = dataclasses.replace(REMITTER, requester_name="A" * 40)
    assert records_of(build_transfer_file(remitter, [PAYMENT]))[0][14:54] == b"A" * 40


# Refusals --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("change", "code", "field"),
    [
        ({"recipient_name": "神戸太郎"}, Code.NAME_NOT_KANA, "recipient_name"),
        ({"recipient_name": "ｺｳﾍﾞ 太郎"}, Code.NAME_NOT_KANA, "recipient_name"),
        ({"recipient_name": "ﾀﾛｳ@ﾔﾏﾀﾞ"}, Code.NAME_SYMBOL, "recipient_name"),
        ({"recipient_name": "ｱ" * 31}, Code.NAME_TOO_LONG, "recipient_name"),
        ({"recipient_name": "ガ" * 16}, Code.NAME_TOO_LONG, "recipient_name"),  # 32 with ﾞ
        ({"recipient_name": " 　"}, Code.NAME_REQUIRED, "recipient_name"),
        ({"bank_name": "ミズホギンコウカブシキガイシャ"}, Code.NAME_TOO_LONG, "bank_name"),
        ({"branch_name": "本店"}, Code.NAME_NOT_KANA, "branch_name"),
        ({"account_number": "12345678"}, Code.ACCOUNT_NUMBER_FORMAT, "account_number"),
        ({"account_number": ""}, Code.ACCOUNT_NUMBER_FORMAT, "account_number"),
        ({"account_number": "12a4567"}, Code.ACCOUNT_NUMBER_FORMAT, "account_number"),
        ({"amount": 0}, Code.AMOUNT_RANGE, "amount"),
        ({"amount": -1}, Code.AMOUNT_RANGE, "amount"),
        ({"amount": 10**10}, Code.AMOUNT_RANGE, "amount"),
        ({"amount": True}, Code.INVALID_TYPE, "amount"),
        ({"bank_code": "123"}, Code.CODE_FORMAT, "bank_code"),
        ({"bank_code": "12345"}, Code.CODE_FORMAT, "bank_code"),
        ({"bank_code": "00a1"}, Code.CODE_FORMAT, "bank_code"),
        ({"branch_code": "01"}, Code.CODE_FORMAT, "branch_code"),
        ({"customer_code1": "12345678901"}, Code.CODE_FORMAT, "customer_code1"),
        ({"customer_code2": "ABC"}, Code.CODE_FORMAT, "customer_code2"),
        ({"account_type": "外貨"}, Code.ACCOUNT_TYPE_INVALID, "account_type"),
        ({"account_type": 3}, Code.ACCOUNT_TYPE_INVALID, "account_type"),
        ({"new_code": "3"}, Code.OPTION_INVALID, "new_code"),
        ({"transfer_class": "9"}, Code.OPTION_INVALID, "transfer_class"),
        ({"identification": "Y"}, Code.OPTION_INVALID, "identification"),
    ],
)
def test_a_payment_that_cannot_be_written_is_refused_naming_it_and_the_field(
    change: dict[str, Any], code: TransferFileErrorCode, field: str
) -> None:
    bad = dataclasses.replace(PAYMENT, **change)
    error = refusal(REMITTER, [PAYMENT, SECOND, bad])
    assert (error.code, error.index, error.field) == (code, 2, field)
    assert error.message.startswith("3件目の振込：")


def test_refusal_messages_name_the_fix_without_the_value() -> None:
    cases: list[tuple[dict[str, Any], str]] = [
        (
            {"recipient_name": "神戸太郎"},
            "1件目の振込：受取人名はカナか英字で指定してください（漢字は使えません）。",
        ),
        (
            {"recipient_name": "ガ" * 16},
            "1件目の振込：受取人名は半角30文字以内にしてください（濁点も1文字です）。",
        ),
        ({"account_number": "12345678"}, "1件目の振込：口座番号は7桁以内の数字にしてください。"),
        ({"bank_code": "123"}, "1件目の振込：金融機関コードは4桁の数字にしてください。"),
        ({"amount": 0}, "1件目の振込：振込金額は1円以上9,999,999,999円以下にしてください。"),
    ]
    for change, message in cases:
        error = refusal(REMITTER, [dataclasses.replace(PAYMENT, **change)])
        assert error.message == message
        assert str(error) == message


def test_the_largest_amount_fits() -> None:
    payment = dataclasses.replace(PAYMENT, amount=9_999_999_999)
    record = records_of(build_transfer_file(REMITTER, [payment]))[1]
    assert record[80:90] == b"9999999999"


@pytest.mark.parametrize(
    ("change", "code", "field"),
    [
        ({"requester_name": "神戸市"}, Code.NAME_NOT_KANA, "requester_name"),
        ({"requester_name": "A" * 41}, Code.NAME_TOO_LONG, "requester_name"),
        ({"requester_name": ""}, Code.NAME_REQUIRED, "requester_name"),
        ({"requester_code": "12345678901"}, Code.CODE_FORMAT, "requester_code"),
        ({"bank_code": "1"}, Code.CODE_FORMAT, "bank_code"),
        ({"bank_name": "みずほ銀行"}, Code.NAME_NOT_KANA, "bank_name"),
        ({"account_type": "貯蓄"}, Code.ACCOUNT_TYPE_INVALID, "account_type"),
        ({"account_type": 4}, Code.ACCOUNT_TYPE_INVALID, "account_type"),
        ({"account_number": "12345678"}, Code.ACCOUNT_NUMBER_FORMAT, "account_number"),
    ],
)
def test_a_remitter_that_cannot_be_written_is_refused_with_no_index(
    change: dict[str, Any], code: TransferFileErrorCode, field: str
) -> None:
    error = refusal(dataclasses.replace(REMITTER, **change), [PAYMENT])
    assert (error.code, error.index, error.field) == (code, None, field)
    assert error.message.startswith("振込依頼人：")


def test_an_empty_payment_list_is_refused() -> None:
    error = refusal(REMITTER, [])
    assert (error.code, error.index, error.field) == (Code.EMPTY, None, "payments")
    assert error.message == "振込ファイル：振込データが1件もありません。"


def test_a_sum_beyond_the_trailer_field_is_refused() -> None:
    largest = dataclasses.replace(PAYMENT, amount=9_999_999_999)
    assert records_of(build_transfer_file(REMITTER, [largest] * 100))[-2][7:19] == (b"999999999900")
    error = refusal(REMITTER, [largest] * 101)
    assert (error.code, error.index, error.field) == (
        Code.TOTAL_AMOUNT_OVERFLOW,
        None,
        "total_amount",
    )


def test_a_count_beyond_the_trailer_field_is_refused() -> None:
    error = refusal(REMITTER, [PAYMENT] * 1_000_000)
    assert (error.code, error.index, error.field) == (
        Code.TOTAL_COUNT_OVERFLOW,
        None,
        "total_count",
    )


def test_find_payment_errors_reports_every_refused_payment() -> None:
    payments = [
        PAYMENT,
        dataclasses.replace(PAYMENT, recipient_name="神戸太郎"),
        SECOND,
        dataclasses.replace(PAYMENT, amount=0, account_number="123456789"),
    ]
    errors = find_payment_errors(payments)
    assert [(e.index, e.field, e.code) for e in errors] == [
        (1, "recipient_name", Code.NAME_NOT_KANA),
        (3, "amount", Code.AMOUNT_RANGE),
    ]
    assert find_payment_errors([PAYMENT, SECOND]) == []


def test_error_as_dict() -> None:
    error = refusal(REMITTER, [dataclasses.replace(PAYMENT, bank_code="1")])
    assert error.as_dict() == {
        "code": "transfer_code_format",
        "message": "1件目の振込：金融機関コードは4桁の数字にしてください。",
        "index": 0,
        "field": "bank_code",
    }


# The bank_account field type -------------------------------------------------------------------


def test_a_payment_is_made_from_a_stored_bank_account() -> None:
    payment = Payment.from_bank_account(BANK_ACCOUNT, amount=100_000, customer_code1="1234567890")
    assert payment == Payment(
        bank_code="0001",
        branch_code="001",
        account_type="当座",
        account_number="0012345",
        recipient_name="ﾔﾏﾀﾞ ﾀﾛｳ",
        amount=100_000,
        customer_code1="1234567890",
    )
    record = records_of(build_transfer_file(REMITTER, [payment]))[1]
    assert record[42:50] == b"2" + b"0012345"
    assert record[50:80] == "ﾔﾏﾀﾞ ﾀﾛｳ".encode("cp932").ljust(30, SPACES)


def test_a_bank_account_without_a_holder_name_is_refused() -> None:
    value = {key: item for key, item in BANK_ACCOUNT.items() if key != "holder_name"}
    with pytest.raises(TransferFileError) as caught:
        Payment.from_bank_account(value, amount=1)
    error = caught.value
    assert (error.code, error.index, error.field) == (Code.INVALID_TYPE, None, "recipient_name")
    assert error.message == "口座情報：受取人名がありません。"


# Reading ---------------------------------------------------------------------------------------


def test_a_built_file_parses_back() -> None:
    header, payments, trailer = parse_transfer_file(
        build_transfer_file(REMITTER, [PAYMENT, SECOND])
    )
    assert header == {
        "type_code": "21",
        "code_division": "0",
        "requester_code": "1234567890",
        "requester_name": "ｺｳﾍﾞｼ",
        "transfer_date": "0605",
        "bank_code": "0001",
        "bank_name": "ﾐｽﾞﾎ",
        "branch_code": "001",
        "branch_name": "ﾄｳｷﾖｳ",
        "account_type": "1",
        "account_number": "7654321",
        "dummy": "",
    }
    assert payments == [
        {
            "bank_code": "0009",
            "bank_name": "ﾐﾂｲｽﾐﾄﾓ",
            "branch_code": "123",
            "branch_name": "ｺｳﾍﾞ",
            "clearing_house_code": "0000",
            "account_type": "1",
            "account_number": "1234567",
            "recipient_name": "ｺｳﾍﾞ ﾀﾛｳ",
            "amount": 100_000,
            "new_code": "0",
            "customer_code1": "1234567890",
            "customer_code2": "0000000000",
            "transfer_class": "7",
            "identification": "",
            "dummy": "",
        },
        {
            "bank_code": "0005",
            "bank_name": "",
            "branch_code": "045",
            "branch_name": "",
            "clearing_house_code": "0000",
            "account_type": "2",
            "account_number": "0000089",
            "recipient_name": "ﾔﾏﾀﾞ ﾊﾅｺ",
            "amount": 200_000,
            "new_code": "0",
            "customer_code1": "0000000000",
            "customer_code2": "0000000042",
            "transfer_class": "7",
            "identification": "",
            "dummy": "",
        },
    ]
    assert trailer == {"total_count": 2, "total_amount": 300_000, "dummy": ""}


def test_records_without_line_breaks_parse_the_same() -> None:
    with_crlf = build_transfer_file(REMITTER, [PAYMENT, SECOND])
    bare = build_transfer_file(REMITTER, [PAYMENT, SECOND], line_ending=b"")
    assert parse_transfer_file(bare) == parse_transfer_file(with_crlf)
    assert parse_transfer_file(with_crlf + b"\x1a") == parse_transfer_file(with_crlf)


def test_a_result_file_with_blank_unused_numbers_and_result_codes_parses() -> None:
    records = records_of(build_transfer_file(REMITTER, [PAYMENT]))
    data = records[1][:38] + b"    " + records[1][42:113] + b"1      "
    _header, payments, _trailer = parse_transfer_file(
        b"\r\n".join([records[0], data, *records[2:]])
    )
    assert payments[0]["clearing_house_code"] == ""
    assert payments[0]["dummy"] == "1"


def _parse_refusal(data: bytes) -> TransferFileError:
    with pytest.raises(TransferFileError) as caught:
        parse_transfer_file(data)
    return caught.value


def test_reading_refuses_a_record_of_the_wrong_length() -> None:
    records = records_of(build_transfer_file(REMITTER, [PAYMENT]))
    records[1] = records[1][:119]
    error = _parse_refusal(b"\r\n".join(records))
    assert (error.code, error.index, error.field) == (Code.RECORD_LENGTH, 1, "record")


def test_reading_refuses_a_full_width_character() -> None:
    records = records_of(build_transfer_file(REMITTER, [PAYMENT]))
    records[1] = records[1][:50] + "ア".encode("cp932") + records[1][52:]
    error = _parse_refusal(b"\r\n".join(records))
    assert (error.code, error.index, error.field) == (Code.RECORD_CHARACTERS, 1, "record")
    assert error.message == "2番目のレコード：半角文字以外が含まれています。"


def test_reading_refuses_records_out_of_order() -> None:
    records = records_of(build_transfer_file(REMITTER, [PAYMENT, SECOND]))
    without_end = _parse_refusal(b"\r\n".join(records[:-1]))
    assert (without_end.code, without_end.index) == (Code.RECORD_ORDER, 4)  # the missing end
    swapped = _parse_refusal(b"\r\n".join([records[1], records[0], *records[2:]]))
    assert (swapped.code, swapped.index) == (Code.RECORD_ORDER, 0)
    assert _parse_refusal(b"").code == Code.RECORD_ORDER


def test_reading_refuses_letters_in_a_number_field() -> None:
    records = records_of(build_transfer_file(REMITTER, [PAYMENT]))
    records[1] = records[1][:80] + b"00001000A0" + records[1][90:]
    error = _parse_refusal(b"\r\n".join(records))
    assert (error.code, error.index, error.field) == (Code.RECORD_DIGITS, 1, "amount")


def test_reading_refuses_a_trailer_that_does_not_match_the_data() -> None:
    records = records_of(build_transfer_file(REMITTER, [PAYMENT]))
    records[2] = records[2][:7] + b"000000100001" + records[2][19:]
    error = _parse_refusal(b"\r\n".join(records))
    assert (error.code, error.index, error.field) == (Code.TOTALS_MISMATCH, 2, "record")


# The CSV for staff -----------------------------------------------------------------------------


def test_the_csv_lists_what_the_file_holds() -> None:
    odd = dataclasses.replace(SECOND, recipient_name="-ABC")
    assert build_transfer_csv([PAYMENT, odd]).decode("utf-8") == (
        "\ufeff"
        "金融機関コード,金融機関名,支店コード,支店名,預金種目,口座番号,受取人名,金額,"
        "顧客コード1,顧客コード2\r\n"
        "0009,ﾐﾂｲｽﾐﾄﾓ,123,ｺｳﾍﾞ,普通,1234567,ｺｳﾍﾞ ﾀﾛｳ,100000,1234567890,0000000000\r\n"
        "0005,,045,,当座,0000089,'-ABC,200000,0000000000,0000000042\r\n"
    )


def test_the_csv_refuses_what_the_file_refuses() -> None:
    with pytest.raises(TransferFileError) as caught:
        build_transfer_csv([PAYMENT, dataclasses.replace(PAYMENT, recipient_name="神戸")])
    assert (caught.value.code, caught.value.index) == (Code.NAME_NOT_KANA, 1)


# Properties ------------------------------------------------------------------------------------

_NAME_CHARACTERS = sorted(BANK_HOLDER_CHARACTERS - {" "})
_payments = st.builds(
    Payment,
    bank_code=st.from_regex(r"[0-9]{4}", fullmatch=True),
    branch_code=st.from_regex(r"[0-9]{3}", fullmatch=True),
    account_type=st.sampled_from(["1", "2", "4", "9", "普通", "当座", "貯蓄", 1, 2, 4, 9]),
    account_number=st.from_regex(r"[0-9]{1,7}", fullmatch=True),
    recipient_name=st.text(st.sampled_from(_NAME_CHARACTERS), min_size=1, max_size=30),
    amount=st.integers(min_value=1, max_value=9_999_999_999),
    bank_name=st.text(st.sampled_from(_NAME_CHARACTERS), max_size=15),
    customer_code1=st.from_regex(r"[0-9]{0,10}", fullmatch=True),
    new_code=st.sampled_from(["0", "1", "2"]),
    transfer_class=st.sampled_from(["7", "8"]),
)


@settings(max_examples=50, deadline=None)
@given(st.lists(_payments, min_size=1, max_size=20))
def test_any_valid_payments_make_whole_records_and_matching_totals(
    payments: list[Payment],
) -> None:
    data = build_transfer_file(REMITTER, payments)
    records = records_of(data)
    assert len(records) == len(payments) + 3
    assert all(len(record) == 120 and len(record.decode("cp932")) == 120 for record in records)
    assert int(records[-2][1:7]) == len(payments)
    assert int(records[-2][7:19]) == sum(payment.amount for payment in payments)
    _header, parsed, trailer = parse_transfer_file(data)
    assert trailer["total_count"] == len(payments)
    assert [record["amount"] for record in parsed] == [payment.amount for payment in payments]
    assert [record["recipient_name"] for record in parsed] == [
        to_bank_kana(payment.recipient_name) for payment in payments
    ]
    assert [record["account_number"] for record in parsed] == [
        payment.account_number.zfill(7) for payment in payments
    ]
