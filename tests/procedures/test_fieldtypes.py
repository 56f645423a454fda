"""Tests for madoguchi.procedures.fieldtypes."""

from __future__ import annotations

import datetime

import pytest
from django.utils import translation
from hypothesis import given
from hypothesis import strategies as st

from madoguchi.procedures.fieldtypes import (
    BANK_HOLDER_CHARACTERS,
    Choice,
    DateType,
    DefinitionError,
    FieldInvalid,
    FieldOptions,
    FieldSpec,
    FieldTypeRegistry,
    GroupInvalid,
    TextType,
    answers_json_schema,
    field_types,
    is_blank,
    specs_from_dicts,
    to_bank_kana,
    validate_answers,
)

TODAY = datetime.date(2024, 4, 1)
# The registry the tests use: "today" is fixed so that date bounds give exact messages.
REGISTRY = field_types.with_types(DateType(today=lambda: TODAY))

CHOICES = [
    {"value": "self", "label_ja": "本人", "label_en": "Self"},
    {"value": "spouse", "label_ja": "配偶者", "label_en": "Spouse"},
    {"value": "1", "label_ja": "その他", "label_en": "Other"},
]
MEMBER_FIELDS: list[dict[str, object]] = [
    {"key": "name", "type": "text", "label_ja": "氏名"},
    {"key": "birth_date", "type": "date", "label_ja": "生年月日", "options": {"past_only": True}},
    {"key": "note", "type": "text", "label_ja": "備考", "required": False},
]
FILE_ACCEPT = ["application/pdf", "image/jpeg", "image/png"]
PDF = {"id": "upl_1", "content_type": "application/pdf", "size": 1_234_567, "name": "申請書.pdf"}
BANK = {
    "bank_code": "0001",
    "branch_code": "001",
    "account_type": "普通",
    "account_number": "1234567",
    "holder_name": "ﾔﾏﾀﾞ ﾀﾛｳ",
}
VALID_MYNUMBER = "123456789018"

# Options each type needs to be defined at all.
MINIMAL_OPTIONS: dict[str, dict[str, object]] = {
    "choice": {"choices": CHOICES},
    "file": {"accept": ["application/pdf"]},
    "group": {"fields": MEMBER_FIELDS},
}
ALL_TYPES = field_types.names()


def make(
    type_name: str,
    *,
    key: str = "answer",
    label: str = "項目",
    required: bool = True,
    **options: object,
) -> FieldSpec:
    definition: dict[str, object] = {
        "key": key,
        "type": type_name,
        "label_ja": label,
        "required": required,
    }
    if options or type_name in MINIMAL_OPTIONS:
        definition["options"] = {**MINIMAL_OPTIONS.get(type_name, {}), **options}
    return FieldSpec.from_dict(definition, registry=REGISTRY)


def file_spec(label: str = "項目") -> FieldSpec:
    """A file field for PDF, JPEG and PNG up to 5,000,000 bytes."""
    return make("file", label=label, accept=FILE_ACCEPT, max_bytes=5_000_000)


def refused(spec: FieldSpec, value: object) -> FieldInvalid:
    with pytest.raises(FieldInvalid) as caught:
        spec.clean(value)
    return caught.value


def definition_error(definition: dict[str, object]) -> str:
    with pytest.raises(DefinitionError) as caught:
        FieldSpec.from_dict(definition, registry=REGISTRY)
    return str(caught.value)


# Definitions -----------------------------------------------------------------------------------


def test_from_dict_reads_every_entry() -> None:
    """A definition dict becomes a frozen spec with typed options."""
    spec = FieldSpec.from_dict(
        {
            "key": "relationship",
            "type": "choice",
            "label_ja": "続柄",
            "label_en": "Relationship",
            "required": False,
            "help_ja": "世帯主から見た続柄",
            "options": {"choices": CHOICES[:2]},
        }
    )
    assert spec == FieldSpec(
        key="relationship",
        type="choice",
        label_ja="続柄",
        label_en="Relationship",
        required=False,
        help_ja="世帯主から見た続柄",
        options=FieldOptions(
            choices=(Choice("self", "本人", "Self"), Choice("spouse", "配偶者", "Spouse"))
        ),
    )
    assert spec.kind is field_types.get("choice")
    with pytest.raises(AttributeError):
        spec.key = "other"  # type: ignore[misc]


def test_from_dict_defaults() -> None:
    """required defaults to True, labels and help to "", options to none set."""
    spec = FieldSpec.from_dict({"key": "name", "type": "text", "label_ja": "氏名"})
    assert (spec.required, spec.label_en, spec.help_ja, spec.options) == (
        True,
        "",
        "",
        FieldOptions(),
    )


def test_date_bounds_accept_today_iso_text_and_yaml_dates() -> None:
    """min_date/max_date are "today", ISO text, or the date PyYAML makes of 2024-04-01."""
    spec = make("date", min_date="2000-01-01", max_date="today")
    assert spec.options.min_date == datetime.date(2000, 1, 1)
    assert spec.options.max_date == "today"
    assert make("date", min_date=datetime.date(2000, 1, 1)).options.min_date == datetime.date(
        2000, 1, 1
    )


def test_group_subfields_are_specs() -> None:
    """A group's fields are read recursively, in order."""
    spec = make("group", key="members", min_items=1, max_items=8)
    assert [sub.key for sub in spec.options.fields] == ["name", "birth_date", "note"]
    assert spec.options.fields[1].options.past_only is True
    assert (spec.options.min_items, spec.options.max_items) == (1, 8)


@pytest.mark.parametrize(
    ("definition", "message"),
    [
        ({"type": "text", "label_ja": "氏名"}, "field: 'key' is required"),
        (
            {"key": "Name", "type": "text", "label_ja": "氏名"},
            "field: key 'Name' must be 1-63 lower-case ASCII letters, digits or underscores, "
            "starting with a letter",
        ),
        ({"key": "name", "label_ja": "氏名"}, "field ('name'): 'type' is required"),
        (
            {"key": "name", "type": "txt", "label_ja": "氏名"},
            "field ('name'): unknown type 'txt'; known types: address, bank_account, checkbox, "
            "choice, date, email, file, group, integer, kana, mynumber, phone, postal_code, text",
        ),
        ({"key": "name", "type": "text"}, "field ('name'): 'label_ja' is required"),
        (
            {"key": "name", "type": "text", "label_ja": 1},
            "field ('name'): 'label_ja' must be a string, not int",
        ),
        (
            {"key": "name", "type": "text", "label_ja": "氏名", "required": "yes"},
            "field ('name'): 'required' must be true or false",
        ),
        (
            {"key": "name", "type": "text", "label_ja": "氏名", "max_length": 20},
            "field ('name'): unknown keys ['max_length']; type-specific settings go under "
            "'options'",
        ),
        (
            {"key": "name", "type": "text", "label_ja": "氏名", "options": ["max_length"]},
            "field ('name'): 'options' must be a mapping",
        ),
        (
            {"key": "day", "type": "date", "label_ja": "日", "options": {"max_length": 3}},
            "field ('day'): options ['max_length'] do not apply to type 'date' "
            "(it takes: max_date, min_date, past_only)",
        ),
        (
            {"key": "zip", "type": "postal_code", "label_ja": "郵便番号", "options": {"min": 1}},
            "field ('zip'): options ['min'] do not apply to type 'postal_code' "
            "(it takes: no options)",
        ),
        (
            {"key": "name", "type": "text", "label_ja": "氏名", "options": {"max_length": 0}},
            "field ('name'): option 'max_length' must be an integer >= 1",
        ),
        (
            {"key": "name", "type": "text", "label_ja": "氏名", "options": {"multiline": 1}},
            "field ('name'): option 'multiline' must be true or false",
        ),
        (
            {"key": "n", "type": "integer", "label_ja": "人数", "options": {"max": True}},
            "field ('n'): option 'max' must be an integer",
        ),
        (
            {"key": "n", "type": "integer", "label_ja": "人数", "options": {"min": 5, "max": 1}},
            "field ('n'): option 'min' is greater than 'max'",
        ),
        (
            {"key": "d", "type": "date", "label_ja": "日", "options": {"min_date": "tomorrow"}},
            "field ('d'): option 'min_date' must be 'today' or an ISO date such as 2024-04-01",
        ),
        (
            {
                "key": "d",
                "type": "date",
                "label_ja": "日",
                "options": {"min_date": "2025-01-01", "max_date": "2024-01-01"},
            },
            "field ('d'): option 'min_date' is later than 'max_date'",
        ),
        (
            {"key": "rel", "type": "choice", "label_ja": "続柄"},
            "field ('rel'): type 'choice' needs the option 'choices'",
        ),
        (
            {"key": "rel", "type": "choice", "label_ja": "続柄", "options": {"choices": []}},
            "field ('rel'): option 'choices' must be a non-empty list of "
            "{value, label_ja, label_en}",
        ),
        (
            {
                "key": "rel",
                "type": "choice",
                "label_ja": "続柄",
                "options": {"choices": [{"value": 1, "label_ja": "本人"}]},
            },
            "field ('rel'): choices[0]: 'value' must be a string, not int",
        ),
        (
            {
                "key": "rel",
                "type": "choice",
                "label_ja": "続柄",
                "options": {"choices": [{"value": "a", "label": "本人"}]},
            },
            "field ('rel'): choices[0]: unknown keys ['label']",
        ),
        (
            {
                "key": "rel",
                "type": "choice",
                "label_ja": "続柄",
                "options": {"choices": [CHOICES[0], CHOICES[0]]},
            },
            "field ('rel'): choices[1]: duplicate value 'self'",
        ),
        (
            {"key": "doc", "type": "file", "label_ja": "書類"},
            "field ('doc'): type 'file' needs the option 'accept'",
        ),
        (
            {"key": "doc", "type": "file", "label_ja": "書類", "options": {"accept": ["pdf"]}},
            "field ('doc'): accept entry 'pdf' is not a MIME type such as 'application/pdf' "
            "or 'image/*'",
        ),
        (
            {"key": "members", "type": "group", "label_ja": "世帯員"},
            "field ('members'): type 'group' needs the option 'fields'",
        ),
        (
            {"key": "members", "type": "group", "label_ja": "世帯員", "options": {"fields": []}},
            "field ('members'): option 'fields' must be a non-empty list of field definitions",
        ),
        (
            {
                "key": "members",
                "type": "group",
                "label_ja": "世帯員",
                "options": {"fields": [MEMBER_FIELDS[0], MEMBER_FIELDS[0]]},
            },
            "field ('members') fields[1]: duplicate key 'name'",
        ),
        (
            {
                "key": "members",
                "type": "group",
                "label_ja": "世帯員",
                "options": {"fields": [{"key": "name", "type": "text"}]},
            },
            "field ('members') fields[0] ('name'): 'label_ja' is required",
        ),
        (
            {
                "key": "members",
                "type": "group",
                "label_ja": "世帯員",
                "options": {
                    "fields": [
                        {
                            "key": "inner",
                            "type": "group",
                            "label_ja": "内側",
                            "options": {"fields": MEMBER_FIELDS},
                        }
                    ]
                },
            },
            "field ('members') fields[0] ('inner'): a group cannot contain another group",
        ),
        (
            {
                "key": "members",
                "type": "group",
                "label_ja": "世帯員",
                "options": {"fields": MEMBER_FIELDS, "min_items": 3, "max_items": 2},
            },
            "field ('members'): option 'min_items' is greater than 'max_items'",
        ),
    ],
)
def test_malformed_definitions_are_refused_precisely(
    definition: dict[str, object], message: str
) -> None:
    """Each mistake in a definition is named, with the path of the field it is in."""
    assert definition_error(definition) == message


def test_specs_from_dicts_keeps_order_and_refuses_duplicate_keys() -> None:
    """A procedure's fields are read in order; two fields with one key are refused."""
    specs = specs_from_dicts(MEMBER_FIELDS)
    assert [spec.key for spec in specs] == ["name", "birth_date", "note"]
    with pytest.raises(DefinitionError) as caught:
        specs_from_dicts([MEMBER_FIELDS[0], MEMBER_FIELDS[1], MEMBER_FIELDS[0]])
    assert str(caught.value) == "fields[2]: duplicate key 'name'"
    with pytest.raises(DefinitionError) as caught:
        specs_from_dicts([MEMBER_FIELDS[0], "name"])  # type: ignore[list-item]
    assert str(caught.value) == "fields[1] must be a mapping, not str"


def test_registry_refuses_a_second_type_of_one_name_and_can_be_derived() -> None:
    """A name is registered once; with_types returns a copy with replacements."""
    registry = FieldTypeRegistry([TextType()])
    with pytest.raises(ValueError, match="'text' is already registered"):
        registry.register(TextType())
    derived = field_types.with_types(DateType(today=lambda: TODAY))
    assert derived.get("date") is not field_types.get("date")
    assert derived.get("text") is field_types.get("text")
    assert derived.names() == field_types.names()


# Blank answers ---------------------------------------------------------------------------------

REQUIRED_MESSAGES = {
    "choice": "項目を選択してください。",
    "checkbox": "確認のうえチェックを入れてください。",
    "file": "項目のファイルを選択してください。",
}


@pytest.mark.parametrize("type_name", ALL_TYPES)
@pytest.mark.parametrize("blank", ["", None, [], {}, "   ", "\u3000", "\u200b", " \n\t"])
def test_a_blank_required_answer_is_refused(type_name: str, blank: object) -> None:
    """Every type refuses blank input with "required" and a message naming the field."""
    error = refused(make(type_name), blank)
    assert error.code == "required"
    assert error.message == REQUIRED_MESSAGES.get(type_name, "項目を入力してください。")
    assert error.subfield is None


@pytest.mark.parametrize("type_name", ALL_TYPES)
@pytest.mark.parametrize("blank", ["", None, [], {}, "   ", "\u3000"])
def test_a_blank_optional_answer_is_none(type_name: str, blank: object) -> None:
    """Blank optional answers are stored as None; a checkbox left unticked as False."""
    expected = False if type_name == "checkbox" else None
    assert make(type_name, required=False).clean(blank) is expected


def test_containers_of_blanks_are_blank() -> None:
    """A bank form or group row posted with every input empty counts as not answered."""
    assert is_blank({"bank_code": "", "branch_code": " "})
    assert is_blank([{"name": "", "note": None}])
    assert not is_blank(0)
    assert not is_blank(False)
    assert not is_blank({"size": 0})


# text, address, kana ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("山田　太郎", "山田 太郎"),
        ("  ﾏﾝｼｮﾝ１０１号室  ", "マンション101号室"),
        ("ＡＢＣ\t株式会社", "ABC 株式会社"),
        ("①㈱神", "①㈱神"),
    ],
)
def test_text_is_normalized(raw: str, expected: str) -> None:
    """Text goes through normalize_text: widths folded, spaces collapsed and trimmed."""
    assert make("text").clean(raw) == expected


def test_text_length_defaults_to_200_characters() -> None:
    """200 characters pass; 201 are refused with the limit and the count."""
    spec = make("text", label="氏名")
    assert spec.clean("あ" * 200) == "あ" * 200
    error = refused(spec, "あ" * 201)
    assert (error.code, error.message) == (
        "too_long",
        "氏名は200文字以内で入力してください（現在201文字）。",
    )


def test_text_length_counts_after_normalization() -> None:
    """max_length applies to the stored form: ｶﾞ is one character once composed."""
    spec = make("text", max_length=3)
    assert spec.clean("ｶﾞｷﾞｸﾞ") == "ガギグ"
    assert refused(spec, "ガギグゲ").message == "項目は3文字以内で入力してください（現在4文字）。"


@pytest.mark.parametrize("raw", ["a\x00b", "a\x1bb", "a\x7fb", "a\x85b", "a\u202eb", "a\x0bb"])
def test_control_characters_are_refused(raw: str) -> None:
    """NUL, ESC, DEL, C1 and bidirectional overrides are refused, not silently dropped."""
    error = refused(make("text", label="備考"), raw)
    assert (error.code, error.message) == (
        "control_character",
        "備考に入力できない制御文字が含まれています。入力し直してください。",
    )


@pytest.mark.parametrize("type_name", ["text", "address"])
def test_single_line_fields_refuse_line_breaks(type_name: str) -> None:
    """Without multiline, a line break is refused (only an API or CSV can send one)."""
    error = refused(make(type_name, label="住所"), "神戸市\n中央区")
    assert (error.code, error.message) == (
        "line_break",
        "住所は改行せずに1行で入力してください。",
    )


def test_multiline_text_keeps_lines() -> None:
    """multiline keeps line breaks (as \\n), normalises each line and trims blank ends."""
    spec = make("text", multiline=True)
    assert spec.clean("\r\n１行目　\r\n\r\n  ３行目\r最後\n\n") == "1行目\n\n3行目\n最後"
    assert refused(spec, "a\x00").code == "control_character"


def test_address_is_normalized_text_of_200_characters() -> None:
    """An address is normalised like text and limited to 200 characters."""
    spec = make("address", label="住所")
    assert spec.clean("兵庫県神戸市中央区加納町６丁目５－１") == "兵庫県神戸市中央区加納町6丁目5-1"
    assert (
        refused(spec, "あ" * 201).message == "住所は200文字以内で入力してください（現在201文字）。"
    )


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("ヤマダ タロウ", "ヤマダ タロウ"),
        ("ﾔﾏﾀﾞ　ﾀﾛｳ", "ヤマダ タロウ"),
        ("やまだ　たろう", "ヤマダ タロウ"),
        ("じょん・すみす", "ジョン・スミス"),
        ("ｺｰﾋｰ", "コーヒー"),
        ("ヴぁいおりん", "ヴァイオリン"),
    ],
)
def test_kana_converts_halfwidth_and_hiragana(raw: str, expected: str) -> None:
    """半角 and ひらがな become 全角 katakana; spaces between names are kept as one."""
    assert make("kana").clean(raw) == expected


@pytest.mark.parametrize("raw", ["山田 太郎", "YAMADA", "ヤマダ1", "ヤマダ。"])
def test_kana_refuses_other_scripts(raw: str) -> None:
    """Kanji, Latin letters, digits and punctuation are refused with an example."""
    error = refused(make("kana", label="氏名（フリガナ）"), raw)
    assert (error.code, error.message) == (
        "not_katakana",
        "氏名（フリガナ）はカタカナで入力してください（例：ヤマダ タロウ）。",
    )


kana_input = st.text(
    st.sampled_from(
        "あいうえおがぱゃっーアイウエオガパャッヴｱｲｳｶﾞﾊﾟｬｯｰﾞﾟ 　・ゝゞヽヾ漢字ABCａｂ1１-－"
    ),
    max_size=20,
)


@given(kana_input)
def test_kana_cleaning_is_idempotent(raw: str) -> None:
    """Cleaning the stored form again gives it back unchanged, or refusing is consistent."""
    spec = make("kana", required=False)
    try:
        once = spec.clean(raw)
    except FieldInvalid:
        return
    assert spec.clean(once) == once


# date ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("R6.4.1", "2024-04-01"),
        ("令和元年5月1日", "2019-05-01"),
        ("２０２４／４／１", "2024-04-01"),
        (datetime.date(2024, 4, 1), "2024-04-01"),
    ],
)
def test_date_is_stored_as_iso_text(raw: object, expected: str) -> None:
    """Any accepted form, or a date object, is stored as JSON-ready ISO text."""
    assert make("date").clean(raw) == expected


@pytest.mark.parametrize(
    ("raw", "code", "message"),
    [
        (
            "2024/4",
            "date_format",
            "日付は 2024-04-01 または 令和6年4月1日 の形で入力してください。",
        ),
        ("2023-02-29", "date_invalid", "存在しない日付です。年・月・日を確認してください。"),
        (
            "平成31年5月1日",
            "date_era_range",
            "平成は1989年1月8日から2019年4月30日までです。元号と年を確認してください。",
        ),
        (20240401, "invalid_type", "生年月日の値の形式が正しくありません。"),
        (
            datetime.datetime(2024, 4, 1, tzinfo=datetime.UTC),
            "invalid_type",
            "生年月日の値の形式が正しくありません。",
        ),
    ],
)
def test_date_errors_keep_the_parser_codes(raw: object, code: str, message: str) -> None:
    """jdates' codes and messages reach the field unchanged; other JSON types are refused."""
    error = refused(make("date", label="生年月日"), raw)
    assert (error.code, error.message) == (code, message)


def test_past_only_refuses_future_dates_but_not_today() -> None:
    """A birth date may be today (a baby born today) but not tomorrow."""
    spec = make("date", label="生年月日", past_only=True)
    assert spec.clean("2024-04-01") == "2024-04-01"
    error = refused(spec, "2024-04-02")
    assert (error.code, error.message) == (
        "date_in_future",
        "生年月日に未来の日付は入力できません。",
    )


def test_min_and_max_dates_name_the_bound() -> None:
    """Bounds are inclusive and the message shows the bound in ISO and 和暦."""
    spec = make("date", label="転入日", min_date="2020-01-01", max_date="today")
    assert spec.clean("2020-01-01") == "2020-01-01"
    assert spec.clean("R6.4.1") == "2024-04-01"
    early = refused(spec, "2019-12-31")
    assert (early.code, early.message) == (
        "date_too_early",
        "転入日は2020-01-01（令和2年1月1日）以降の日付を入力してください。",
    )
    late = refused(spec, "2024-04-02")
    assert (late.code, late.message) == (
        "date_too_late",
        "転入日は2024-04-01（令和6年4月1日）以前の日付を入力してください。",
    )


def test_min_date_today() -> None:
    """min_date "today" is resolved when the answer is cleaned."""
    spec = make("date", label="希望日", min_date="today")
    assert spec.clean("2024-04-01") == "2024-04-01"
    assert refused(spec, "2024-03-31").code == "date_too_early"


def test_date_display() -> None:
    """Dates are shown as 2024-04-01（令和6年4月1日）."""
    spec = make("date")
    assert spec.display("2024-04-01") == "2024-04-01（令和6年4月1日）"
    assert spec.display(datetime.date(1989, 1, 7)) == "1989-01-07（昭和64年1月7日）"
    assert spec.display(None) == ""


# postal code, phone, e-mail --------------------------------------------------------------------


@pytest.mark.parametrize(
    "raw", ["6500001", "650-0001", "６５０－０００１", "〒650-0001", "650 0001", "650ー0001"]
)
def test_postal_code_is_stored_as_seven_digits(raw: str) -> None:
    """Hyphen, 〒, spaces and 全角 digits are accepted; "6500001" is stored."""
    spec = make("postal_code")
    assert spec.clean(raw) == "6500001"
    assert spec.display("6500001") == "650-0001"


@pytest.mark.parametrize("raw", ["650001", "65000011", "650-000A", "ABC-DEFG"])
def test_postal_code_refuses_other_lengths(raw: str) -> None:
    """Anything but 7 digits is refused with an example."""
    error = refused(make("postal_code", label="郵便番号"), raw)
    assert (error.code, error.message) == (
        "postal_code_format",
        "郵便番号は7桁の数字で入力してください（例：650-0001）。",
    )


def test_postal_code_refuses_a_json_number() -> None:
    """A number would have lost the leading zero of 060-0001 (札幌); only text is accepted."""
    assert refused(make("postal_code"), 600001).code == "invalid_type"


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("078-331-8181", "0783318181"),
        ("(078) 331-8181", "0783318181"),
        ("（０７８）３３１－８１８１", "0783318181"),
        ("090-1234-5678", "09012345678"),
        ("+81-78-331-8181", "0783318181"),
        ("+81 (0)90 1234 5678", "09012345678"),
    ],
)
def test_phone_is_stored_as_digits(raw: str, expected: str) -> None:
    """Hyphens, spaces and parentheses are removed; +81 becomes the leading 0."""
    assert make("phone").clean(raw) == expected


@pytest.mark.parametrize("raw", ["78-331-8181", "078-331-818", "090-1234-56789", "内線123"])
def test_phone_refuses_other_numbers(raw: str) -> None:
    """Only 10 or 11 digits starting with 0 are a Japanese phone number."""
    error = refused(make("phone", label="電話番号"), raw)
    assert (error.code, error.message) == (
        "phone_format",
        "電話番号は0から始まる10桁または11桁の数字で入力してください（例：078-331-8181）。",
    )


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("Taro.Yamada@Example.JP", "Taro.Yamada@example.jp"),
        ("ｔａｒｏ＠ｅｘａｍｐｌｅ．ｊｐ", "taro@example.jp"),
        ("  taro+kobe@mail.city.kobe.lg.jp ", "taro+kobe@mail.city.kobe.lg.jp"),
        ("taro..yamada.@docomo.ne.jp", "taro..yamada.@docomo.ne.jp"),
    ],
)
def test_email_lowercases_the_domain(raw: str, expected: str) -> None:
    """The domain is lower-cased; old docomo-style local parts with dots are accepted."""
    assert make("email").clean(raw) == expected


@pytest.mark.parametrize(
    "raw",
    [
        "taro",
        "taro@",
        "@example.jp",
        "taro@example",
        "taro yamada@example.jp",
        "a@b@c.jp",
        "taro@-example.jp",
        "taro@example.j",
        "太郎@example.jp",
        "taro@例え.jp",
    ],
)
def test_email_refuses_malformed_addresses(raw: str) -> None:
    """Addresses without a local part, a dotted domain or in other scripts are refused."""
    error = refused(make("email", label="メールアドレス"), raw)
    assert (error.code, error.message) == (
        "email_format",
        "メールアドレスの形式が正しくありません（例：taro@example.jp）。",
    )


def test_email_is_at_most_254_characters() -> None:
    """RFC 5321 limits an address to 254 characters."""
    spec = make("email", label="メールアドレス")
    domain = ".".join(["a" * 60] * 3) + ".jp"  # 185 characters
    longest = "t" * 64 + "@abc." + domain
    assert len(longest) == 254
    assert spec.clean(longest) == longest
    error = refused(spec, "t" * 64 + "@abcd." + domain)
    assert (error.code, error.message) == (
        "too_long",
        "メールアドレスは254文字以内で入力してください（現在255文字）。",
    )


# integer ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("1000", 1000),
        ("1,000", 1000),
        ("１，０００", 1000),
        (" 12 ", 12),
        ("-5", -5),
        ("−5", -5),
        (42, 42),
        ("1,234,567", 1234567),
        ("007", 7),
    ],
)
def test_integer_accepts_commas_and_fullwidth_digits(raw: object, expected: int) -> None:
    """全角 digits and thousands commas are accepted; a JSON number as is."""
    assert make("integer").clean(raw) == expected


@pytest.mark.parametrize("raw", ["1.5", "1,00", "10万", "1000円", "--1", "1,0000", "1e3"])
def test_integer_refuses_other_text(raw: str) -> None:
    """Decimals, misplaced commas, units and 万 are refused."""
    error = refused(make("integer", label="世帯人数"), raw)
    assert (error.code, error.message) == (
        "integer_format",
        "世帯人数は整数で入力してください（例：1000）。",
    )


def test_integer_refuses_booleans() -> None:
    """True is an int to Python but not an answer to 世帯人数."""
    assert refused(make("integer"), True).code == "invalid_type"
    assert refused(make("integer"), 1.0).code == "invalid_type"


@pytest.mark.parametrize(
    ("low", "high", "raw", "message"),
    [
        (1, 10, "0", "人数は1から10までの整数で入力してください。"),
        (1, 10, "11", "人数は1から10までの整数で入力してください。"),
        (1000, None, "999", "人数は1,000以上の整数で入力してください。"),
        (None, 1000, "1,001", "人数は1,000以下の整数で入力してください。"),
    ],
)
def test_integer_range(low: int | None, high: int | None, raw: str, message: str) -> None:
    """min and max are inclusive; the message states the range that applies."""
    spec = make("integer", label="人数", min=low, max=high)
    error = refused(spec, raw)
    assert (error.code, error.message) == ("integer_range", message)
    for bound in (low, high):
        if bound is not None:
            assert spec.clean(f"{bound:,}") == bound


def test_integer_display_groups_thousands() -> None:
    """Review pages show 1,000."""
    assert make("integer").display(1000) == "1,000"


# choice, checkbox ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("self", "self"),
        ("本人", "self"),
        (" 配偶者 ", "spouse"),
        ("1", "1"),
        (1, "1"),
        ("その他", "1"),
    ],
)
def test_choice_accepts_value_or_japanese_label(raw: object, expected: str) -> None:
    """The value or the exact Japanese label (CSV files carry labels) stores the value."""
    assert make("choice").clean(raw) == expected


@pytest.mark.parametrize("raw", ["Self", "本人です", "2", True])
def test_choice_refuses_anything_else(raw: object) -> None:
    """English labels, other text and booleans are not choices."""
    error = refused(make("choice", label="続柄"), raw)
    assert error.code in {"choice_invalid", "invalid_type"}
    if error.code == "choice_invalid":
        assert error.message == "続柄は選択肢の中から選んでください。"


def test_choice_display_uses_the_label_of_the_active_language() -> None:
    """Japanese labels by default, English ones under an English locale."""
    spec = make("choice")
    assert spec.display("spouse") == "配偶者"
    with translation.override("en"):
        assert spec.display("spouse") == "Spouse"
    assert spec.display("removed") == "removed"


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (True, True),
        ("on", True),
        ("true", True),
        ("TRUE", True),
        ("1", True),
        (1, True),
        ("はい", True),
        ("１", True),
        (False, False),
        ("false", False),
        ("0", False),
        ("いいえ", False),
        ("off", False),
        (0, False),
        ("", False),
        (None, False),
    ],
)
def test_checkbox_values(raw: object, expected: bool) -> None:
    """HTML "on", JSON booleans and CSV 1/0/はい/いいえ are understood."""
    assert make("checkbox", required=False).clean(raw) is expected


@pytest.mark.parametrize("raw", [False, "false", "0", None, ""])
def test_required_checkbox_must_be_ticked(raw: object) -> None:
    """A required checkbox is a declaration: unticked is refused, without repeating its label."""
    error = refused(make("checkbox", label="記載内容に誤りがないことを確認しました"), raw)
    assert (error.code, error.message) == ("required", "確認のうえチェックを入れてください。")


@pytest.mark.parametrize("raw", ["maybe", 2, [True]])
def test_checkbox_refuses_other_values(raw: object) -> None:
    """Values that are neither yes nor no are refused rather than guessed."""
    error = refused(make("checkbox", label="同意"), raw)
    assert (error.code, error.message) == (
        "checkbox_format",
        "同意は「はい」か「いいえ」で指定してください。",
    )


def test_checkbox_display() -> None:
    assert make("checkbox").display(True) == "はい"
    assert make("checkbox").display(False) == "いいえ"


# file ------------------------------------------------------------------------------------------


def test_file_reference_is_kept_with_a_normalised_type() -> None:
    """The four keys are kept; the content type loses parameters and case; extras go."""
    spec = file_spec()
    assert spec.clean(PDF) == PDF
    uploaded = {**PDF, "content_type": "Application/PDF; charset=binary", "sha256": "ab"}
    assert spec.clean(uploaded) == PDF


def test_file_of_a_type_not_accepted() -> None:
    """The message lists the accepted types by their common names."""
    error = refused(file_spec("本人確認書類"), {**PDF, "content_type": "image/gif"})
    assert (error.code, error.message) == (
        "file_type",
        "本人確認書類にはPDF、JPEG、PNGのファイルを選択してください。",
    )


def test_file_accept_wildcard() -> None:
    """image/* accepts any image and is named 画像."""
    spec = make("file", label="写真", accept=["image/*"])
    assert spec.clean({**PDF, "content_type": "image/heic"})["content_type"] == "image/heic"  # type: ignore[index]
    assert refused(spec, PDF).message == "写真には画像のファイルを選択してください。"


def test_file_too_large() -> None:
    """max_bytes is inclusive; the sizes are rounded so that the file never looks within it."""
    spec = make("file", label="本人確認書類", accept=["application/pdf"], max_bytes=5 * 1024 * 1024)
    assert spec.clean({**PDF, "size": 5 * 1024 * 1024}) is not None
    error = refused(spec, {**PDF, "size": 5 * 1024 * 1024 + 1})
    assert (error.code, error.message) == (
        "file_too_large",
        "本人確認書類のファイルは5 MB以下にしてください（選択したファイルは5.1 MB）。",
    )


def test_file_size_defaults_to_ten_mebibytes() -> None:
    spec = make("file")
    assert spec.clean({**PDF, "size": 10 * 1024 * 1024}) is not None
    assert refused(spec, {**PDF, "size": 10 * 1024 * 1024 + 1}).code == "file_too_large"


@pytest.mark.parametrize(
    "raw",
    [
        "upl_1",
        {"id": "upl_1"},
        {**PDF, "id": ""},
        {**PDF, "id": 1},
        {**PDF, "size": -1},
        {**PDF, "size": True},
        {**PDF, "size": "100"},
        {**PDF, "name": None},
    ],
)
def test_malformed_file_reference(raw: object) -> None:
    """A reference that the upload step cannot have produced asks for the file again."""
    error = refused(file_spec("本人確認書類"), raw)
    assert (error.code, error.message) == (
        "file_reference",
        "本人確認書類のファイルをもう一度選択してください。",
    )


def test_file_display() -> None:
    assert file_spec().display(PDF) == "申請書.pdf（PDF、1.2 MB）"


# 個人番号 --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "raw", ["123456789018", "1234 5678 9018", "1234-5678-9018", "１２３４５６７８９０１８"]
)
def test_mynumber_accepts_grouped_and_fullwidth_digits(raw: str) -> None:
    """Grouping as printed on the card and 全角 digits are accepted."""
    assert make("mynumber").clean(raw) == VALID_MYNUMBER


@pytest.mark.parametrize(
    ("raw", "code", "message"),
    [
        (
            "123456789019",
            "mynumber_check_digit",
            "個人番号が正しくありません。入力内容を確認してください。",
        ),
        ("12345678901", "mynumber_format", "個人番号は12桁の数字で入力してください。"),
        ("12345678901a", "mynumber_format", "個人番号は12桁の数字で入力してください。"),
        (123456789018, "invalid_type", "個人番号の値の形式が正しくありません。"),
    ],
)
def test_mynumber_errors(raw: object, code: str, message: str) -> None:
    """core.checkdigits' codes and messages are used; the number never appears in them."""
    error = refused(make("mynumber", label="個人番号"), raw)
    assert (error.code, error.message) == (code, message)
    assert "1234" not in repr(error)


def test_mynumber_display_is_masked() -> None:
    """Only the last four digits are shown."""
    spec = make("mynumber")
    assert spec.display(VALID_MYNUMBER) == "********9018"
    assert spec.display("garbage") == "************"


# bank account ----------------------------------------------------------------------------------


def test_bank_account_is_normalised() -> None:
    """Codes made 半角, the type named, the number padded to 7 digits, the name in bank kana."""
    spec = make("bank_account")
    raw = {
        "bank_code": "０００１",
        "branch_code": "００１",
        "account_type": "1",
        "account_number": "１２３４",
        "holder_name": "やまだ　たろう",
        "bank_name": "ignored",
    }
    assert spec.clean(raw) == {
        "bank_code": "0001",
        "branch_code": "001",
        "account_type": "普通",
        "account_number": "0001234",
        "holder_name": "ﾔﾏﾀﾞ ﾀﾛｳ",
    }
    assert spec.clean(BANK) == BANK


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("普通", "普通"),
        ("1", "普通"),
        (1, "普通"),
        ("futsu", "普通"),
        ("FUTSU", "普通"),
        ("普通預金", "普通"),
        ("当座", "当座"),
        ("2", "当座"),
        ("toza", "当座"),
        ("２", "当座"),
    ],
)
def test_bank_account_types(raw: object, expected: str) -> None:
    """普通/当座 by name, by 全銀 code 1/2 or in romaji."""
    assert make("bank_account").clean({**BANK, "account_type": raw}) == {
        **BANK,
        "account_type": expected,
    }


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("ヤマダ タロウ", "ﾔﾏﾀﾞ ﾀﾛｳ"),
        ("ﾔﾏﾀﾞ ﾀﾛｳ", "ﾔﾏﾀﾞ ﾀﾛｳ"),
        ("きゃっしゅ　しょうじ", "ｷﾔﾂｼﾕ ｼﾖｳｼﾞ"),
        ("ｷｬｯｼｭ", "ｷﾔﾂｼﾕ"),
        ("ァィゥェォ", "ｱｲｳｴｵ"),
        ("ジョン・スミス", "ｼﾞﾖﾝ ｽﾐｽ"),
        ("ポール", "ﾎﾟ-ﾙ"),
        ("ヴィヲ", "ｳﾞｲｵ"),
        ("ゐゑヵヶヮ", "ｲｴｶｹﾜ"),
        ("カ）ヤマダショウテン", "ｶ)ﾔﾏﾀﾞｼﾖｳﾃﾝ"),
        ("ｶ) ﾔﾏﾀﾞ.ｼｮｳﾃﾝ/ｺｳﾍﾞ", "ｶ) ﾔﾏﾀﾞ.ｼﾖｳﾃﾝ/ｺｳﾍﾞ"),
        ("yamada taro", "YAMADA TARO"),
        ("ＡＢＣ－１", "ABC-1"),
    ],
)
def test_bank_holder_name_conversion(raw: str, expected: str) -> None:
    """Names become 半角カナ with large kana, ー as "-", ・ as a space, letters upper-case."""
    cleaned = make("bank_account").clean({**BANK, "holder_name": raw})
    assert cleaned == {**BANK, "holder_name": expected}


BANK_CODE_MESSAGE = "金融機関コードは4桁の数字で入力してください（例：0001）。"
BRANCH_CODE_MESSAGE = "支店コードは3桁の数字で入力してください（例：001）。"
ACCOUNT_TYPE_MESSAGE = "預金種目は「普通」か「当座」を選択してください。"
ACCOUNT_NUMBER_MESSAGE = "口座番号は7桁以内の数字で入力してください。"
NOT_KANA_MESSAGE = "口座名義はカナで入力してください。"
SYMBOL_MESSAGE = "口座名義に使える記号は ( ) . - / だけです。"


@pytest.mark.parametrize(
    ("part", "raw", "code", "message"),
    [
        ("bank_code", "1", "bank_code_format", BANK_CODE_MESSAGE),
        ("bank_code", "00011", "bank_code_format", BANK_CODE_MESSAGE),
        ("bank_code", 1, "bank_code_format", BANK_CODE_MESSAGE),
        ("branch_code", "01", "branch_code_format", BRANCH_CODE_MESSAGE),
        ("account_type", "貯蓄", "account_type_invalid", ACCOUNT_TYPE_MESSAGE),
        ("account_type", "3", "account_type_invalid", ACCOUNT_TYPE_MESSAGE),
        ("account_number", "12345678", "account_number_format", ACCOUNT_NUMBER_MESSAGE),
        ("account_number", "12a", "account_number_format", ACCOUNT_NUMBER_MESSAGE),
        ("holder_name", "山田 太郎", "holder_name_not_kana", NOT_KANA_MESSAGE),
        ("holder_name", "ヤマダ 太郎", "holder_name_not_kana", NOT_KANA_MESSAGE),
        ("holder_name", "Müller", "holder_name_not_kana", NOT_KANA_MESSAGE),
        ("holder_name", "ヤマダ「タロウ」", "holder_name_symbol", SYMBOL_MESSAGE),
        ("holder_name", "ヤマダ,タロウ", "holder_name_symbol", SYMBOL_MESSAGE),
        ("bank_code", "", "required", "金融機関コードを入力してください。"),
        ("account_type", None, "required", "預金種目を選択してください。"),
        ("holder_name", "　", "required", "口座名義を入力してください。"),
    ],
)
def test_bank_account_errors_name_the_part(part: str, raw: object, code: str, message: str) -> None:
    """Each refused part is named in subfield, with a message about that part."""
    error = refused(make("bank_account", label="振込先口座"), {**BANK, part: raw})
    assert (error.code, error.message, error.subfield) == (code, message, part)


def test_bank_holder_name_is_at_most_30_characters_after_conversion() -> None:
    """The limit applies to the 半角 form, where ガ is two characters."""
    spec = make("bank_account")
    assert spec.clean({**BANK, "holder_name": "ガ" * 15}) == {**BANK, "holder_name": "ｶﾞ" * 15}
    error = refused(spec, {**BANK, "holder_name": "ガ" * 15 + "ア"})
    assert (error.code, error.message, error.subfield) == (
        "too_long",
        "口座名義は半角30文字以内で入力してください（濁点も1文字です）。",
        "holder_name",
    )


def test_japan_post_bank_number_gets_its_own_hint() -> None:
    """An 8-digit ゆうちょ 番号 is not a transfer account number; the message says what is."""
    error = refused(
        make("bank_account"), {**BANK, "bank_code": "9900", "account_number": "12345671"}
    )
    assert (error.code, error.subfield) == ("account_number_format", "account_number")
    assert error.message == (
        "ゆうちょ銀行の口座は、記号・番号ではなく振込用の店番と口座番号（7桁）を入力してください。"
    )


def test_bank_account_refuses_other_json_types() -> None:
    assert refused(make("bank_account"), "0001-001-1234567").code == "invalid_type"


def test_bank_account_display() -> None:
    assert make("bank_account").display(BANK) == (
        "みずほ銀行（0001）／東京営業部（001）／普通／口座番号 1234567／口座名義 ﾔﾏﾀﾞ ﾀﾛｳ"
    )


holder_input = st.text(
    st.one_of(
        st.sampled_from(
            "あいうえおかがぱゃゅょっゐゑゎアイウエオガパァャュョッヴヰヱヵヶヮヲヸヹヺーｰ・･"
            "ｱｲｳｶﾞﾊﾟｧｬｯｦﾞﾟ ﾞ　ABCabcＡＢＣａｂｃ0123０１２３().-/（）．－／"
        ),
        st.characters(codec="utf-8"),
    ),
    max_size=30,
)


@given(holder_input)
def test_bank_holder_output_uses_only_bank_characters(raw: str) -> None:
    """Whatever is typed, an accepted holder name contains only 全銀 characters."""
    spec = make("bank_account")
    try:
        cleaned = spec.clean({**BANK, "holder_name": raw})
    except FieldInvalid as error:
        refused_part = error.subfield
    else:
        refused_part = None
    if refused_part is not None:
        assert refused_part == "holder_name"
        return
    assert isinstance(cleaned, dict)
    name = cleaned["holder_name"]
    assert set(name) <= BANK_HOLDER_CHARACTERS
    assert name == name.strip()
    assert "  " not in name
    assert 1 <= len(name) <= 30


@given(holder_input)
def test_bank_kana_conversion_is_idempotent(raw: str) -> None:
    """Converting a converted name changes nothing, so stored names re-validate."""
    once = to_bank_kana(raw)
    assert to_bank_kana(once) == once


# group -----------------------------------------------------------------------------------------

MEMBERS = [
    {"name": "山田　太郎", "birth_date": "S50.1.1"},
    {"name": "山田 花子", "birth_date": "令和2年3月4日", "note": "長女"},
]


def test_group_cleans_every_item() -> None:
    """Each item is cleaned with the subfields; optional ones become None."""
    spec = make("group", key="members", label="世帯員")
    assert spec.clean(MEMBERS) == [
        {"name": "山田 太郎", "birth_date": "1975-01-01", "note": None},
        {"name": "山田 花子", "birth_date": "2020-03-04", "note": "長女"},
    ]


def test_group_collects_the_errors_of_every_item() -> None:
    """All items are validated; errors are keyed by (index, subfield key)."""
    spec = make("group", key="members", label="世帯員")
    value = [
        {"name": "", "birth_date": "2030-01-01"},
        MEMBERS[0],
        {"name": "山田 次郎", "birth_date": "平成32年1月1日"},
    ]
    with pytest.raises(GroupInvalid) as caught:
        spec.clean(value)
    error = caught.value
    assert isinstance(error, FieldInvalid)
    assert (error.code, error.message) == (
        "group_items_invalid",
        "世帯員の1件目、3件目に誤りがあります。",
    )
    assert {key: (item.code, item.message) for key, item in error.errors.items()} == {
        (0, "name"): ("required", "氏名を入力してください。"),
        (0, "birth_date"): ("date_in_future", "生年月日に未来の日付は入力できません。"),
        (2, "birth_date"): (
            "date_era_range",
            "平成は1989年1月8日から2019年4月30日までです。元号と年を確認してください。",
        ),
    }
    assert error.count_error is None


def test_group_reports_too_few_items_with_item_errors() -> None:
    """min_items is checked after the items, and reported with their errors."""
    spec = make("group", key="members", label="世帯員", min_items=3)
    with pytest.raises(GroupInvalid) as caught:
        spec.clean([{"name": "", "birth_date": "S50.1.1"}])
    assert caught.value.as_dict() == {
        "code": "group_items_invalid",
        "message": "世帯員の1件目に誤りがあります。",
        "subfield": None,
        "items": [
            {
                "index": 0,
                "key": "name",
                "code": "required",
                "message": "氏名を入力してください。",
                "subfield": None,
            }
        ],
        "count_error": {
            "code": "too_few_items",
            "message": "世帯員は3件以上入力してください。",
            "subfield": None,
        },
    }
    error = refused(spec, MEMBERS)
    assert type(error) is FieldInvalid
    assert (error.code, error.message) == ("too_few_items", "世帯員は3件以上入力してください。")


def test_group_refuses_too_many_items_before_validating_them() -> None:
    """max_items bounds the work: items past it are not looked at."""
    spec = make("group", key="members", label="世帯員", max_items=2)
    error = refused(spec, [*MEMBERS, {"name": ""}])
    assert type(error) is FieldInvalid
    assert (error.code, error.message) == ("too_many_items", "世帯員は2件までにしてください。")
    default = make("group", label="世帯員")
    assert refused(default, [MEMBERS[0]] * 101).message == "世帯員は100件までにしてください。"


@pytest.mark.parametrize("raw", ["山田", {"name": "山田"}, [MEMBERS[0], "山田"], [["山田"]]])
def test_group_refuses_what_is_not_a_list_of_items(raw: object) -> None:
    error = refused(make("group", label="世帯員"), raw)
    assert (error.code, error.message) == ("group_format", "世帯員の値の形式が正しくありません。")


def test_group_display_is_a_numbered_list() -> None:
    """One line per item, blank optional subfields left out."""
    spec = make("group", key="members", label="世帯員")
    assert spec.display(spec.clean(MEMBERS)) == (
        "1. 氏名：山田 太郎／生年月日：1975-01-01（昭和50年1月1日）\n"
        "2. 氏名：山田 花子／生年月日：2020-03-04（令和2年3月4日）／備考：長女"
    )


# validate_answers ------------------------------------------------------------------------------

APPLICATION: list[dict[str, object]] = [
    {"key": "name", "type": "text", "label_ja": "氏名"},
    {"key": "name_kana", "type": "kana", "label_ja": "氏名（フリガナ）"},
    {"key": "postal_code", "type": "postal_code", "label_ja": "郵便番号"},
    {"key": "phone", "type": "phone", "label_ja": "電話番号", "required": False},
    {"key": "mynumber", "type": "mynumber", "label_ja": "個人番号"},
    {"key": "account", "type": "bank_account", "label_ja": "振込先口座"},
    {"key": "members", "type": "group", "label_ja": "世帯員", "options": {"fields": MEMBER_FIELDS}},
    {"key": "agree", "type": "checkbox", "label_ja": "記載内容に誤りはありません"},
]


def test_validate_answers_keeps_valid_values_and_reports_every_error() -> None:
    """Errors do not stop validation; valid fields come back cleaned; unknown keys are ignored."""
    specs = specs_from_dicts(APPLICATION, registry=REGISTRY)
    data = {
        "name": "山田　太郎",
        "name_kana": "山田",
        "postal_code": "６５０－０００１",
        "mynumber": "1234 5678 9018",
        "account": {**BANK, "branch_code": "1"},
        "members": [{"name": "山田 花子", "birth_date": "2030-01-01"}],
        "agree": "on",
        "csrfmiddlewaretoken": "abc",
    }
    cleaned, errors = validate_answers(specs, data)
    assert cleaned == {
        "name": "山田 太郎",
        "postal_code": "6500001",
        "phone": None,
        "mynumber": VALID_MYNUMBER,
        "agree": True,
    }
    assert {key: (error.code, error.subfield) for key, error in errors.items()} == {
        "name_kana": ("not_katakana", None),
        "account": ("branch_code_format", "branch_code"),
        "members": ("group_items_invalid", None),
    }
    members_error = errors["members"]
    assert isinstance(members_error, GroupInvalid)
    assert list(members_error.errors) == [(0, "birth_date")]


def test_validate_answers_with_everything_valid() -> None:
    specs = specs_from_dicts(APPLICATION, registry=REGISTRY)
    data = {
        "name": "山田 太郎",
        "name_kana": "ヤマダ タロウ",
        "postal_code": "650-0001",
        "phone": "078-331-8181",
        "mynumber": VALID_MYNUMBER,
        "account": BANK,
        "members": MEMBERS[:1],
        "agree": True,
    }
    cleaned, errors = validate_answers(specs, data)
    assert errors == {}
    assert cleaned["account"] == BANK
    assert cleaned["members"] == [{"name": "山田 太郎", "birth_date": "1975-01-01", "note": None}]


def test_validate_answers_of_an_empty_submission() -> None:
    """Every required field is reported at once, with its own message."""
    specs = specs_from_dicts(APPLICATION[:3], registry=REGISTRY)
    cleaned, errors = validate_answers(specs, {})
    assert cleaned == {}
    assert {key: error.message for key, error in errors.items()} == {
        "name": "氏名を入力してください。",
        "name_kana": "氏名（フリガナ）を入力してください。",
        "postal_code": "郵便番号を入力してください。",
    }


# Stored values clean again unchanged -----------------------------------------------------------

SAMPLES: dict[str, object] = {
    "text": "  ﾃｽﾄ　１２３ ",
    "address": "神戸市中央区加納町６丁目５－１",
    "kana": "やまだ　たろう",
    "date": "R6.4.1",
    "postal_code": "〒650-0001",
    "phone": "(078) 331-8181",
    "email": "Taro@Example.JP",
    "integer": "１，０００",
    "choice": "配偶者",
    "checkbox": "はい",
    "file": {**PDF, "content_type": "application/PDF"},
    "mynumber": "1234 5678 9018",
    "bank_account": {**BANK, "account_type": "1", "holder_name": "きゃっしゅ"},
    "group": MEMBERS,
}


def test_every_type_has_a_sample() -> None:
    assert sorted(SAMPLES) == ALL_TYPES


@pytest.mark.parametrize("type_name", ALL_TYPES)
def test_cleaning_is_idempotent_for_every_type(type_name: str) -> None:
    """A stored value re-validates to itself, so records can be checked again after edits."""
    spec = file_spec() if type_name == "file" else make(type_name)
    once = spec.clean(SAMPLES[type_name])
    assert spec.clean(once) == once


# JSON Schema -----------------------------------------------------------------------------------


def test_json_schema_of_simple_types() -> None:
    """Title from label_ja, description from help_ja, null allowed when optional."""
    text = FieldSpec.from_dict(
        {"key": "name", "type": "text", "label_ja": "氏名", "help_ja": "戸籍上の氏名"}
    )
    assert text.json_schema() == {
        "title": "氏名",
        "type": "string",
        "maxLength": 200,
        "minLength": 1,
        "description": "戸籍上の氏名",
    }
    assert make("integer", label="人数", required=False, min=1, max=10).json_schema() == {
        "title": "人数",
        "type": ["integer", "null"],
        "minimum": 1,
        "maximum": 10,
    }
    assert make("checkbox", label="同意").json_schema() == {
        "title": "同意",
        "type": "boolean",
        "const": True,
    }
    assert make("mynumber", label="個人番号").json_schema() == {
        "title": "個人番号",
        "type": "string",
        "writeOnly": True,
        "minLength": 1,
    }
    assert make("date", label="生年月日").json_schema() == {
        "title": "生年月日",
        "type": "string",
        "format": "date",
        "examples": ["2024-04-01"],
        "minLength": 1,
    }


def test_json_schema_of_choice_lists_values_with_labels() -> None:
    spec = make("choice", label="続柄", required=False)
    assert spec.json_schema() == {
        "title": "続柄",
        "oneOf": [
            {"const": "self", "title": "本人"},
            {"const": "spouse", "title": "配偶者"},
            {"const": "1", "title": "その他"},
            {"type": "null"},
        ],
    }


def test_json_schema_of_file_and_bank_account() -> None:
    assert file_spec("書類").json_schema() == {
        "title": "書類",
        "type": "object",
        "properties": {
            "id": {"type": "string", "minLength": 1},
            "content_type": {
                "type": "string",
                "enum": ["application/pdf", "image/jpeg", "image/png"],
            },
            "size": {"type": "integer", "minimum": 0, "maximum": 5_000_000},
            "name": {"type": "string", "minLength": 0},
        },
        "required": ["id", "content_type", "size", "name"],
    }
    schema = make("bank_account", label="口座").json_schema()
    assert schema["required"] == [
        "bank_code",
        "branch_code",
        "account_type",
        "account_number",
        "holder_name",
    ]
    assert schema["properties"]["account_type"] == {  # type: ignore[index]
        "type": "string",
        "enum": ["普通", "当座"],
    }


def test_answers_json_schema_nests_groups() -> None:
    """The whole form is one object; group items are objects with their own required list."""
    members = {**APPLICATION[6], "options": {"fields": MEMBER_FIELDS[::2], "min_items": 1}}
    specs = specs_from_dicts([APPLICATION[0], APPLICATION[3], members])
    assert answers_json_schema(specs) == {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "type": "object",
        "properties": {
            "name": {"title": "氏名", "type": "string", "maxLength": 200, "minLength": 1},
            "phone": {
                "title": "電話番号",
                "type": ["string", "null"],
                "examples": ["078-331-8181"],
            },
            "members": {
                "title": "世帯員",
                "type": "array",
                "items": {
                    "type": "object",
                    "properties": {
                        "name": {
                            "title": "氏名",
                            "type": "string",
                            "maxLength": 200,
                            "minLength": 1,
                        },
                        "note": {"title": "備考", "type": ["string", "null"], "maxLength": 200},
                    },
                    "required": ["name"],
                },
                "maxItems": 100,
                "minItems": 1,
            },
        },
        "required": ["name", "members"],
    }


def test_labels_follow_the_active_language() -> None:
    """label_en is used under an English locale when the definition has one."""
    spec = FieldSpec.from_dict(
        {"key": "name", "type": "text", "label_ja": "氏名", "label_en": "Name"}
    )
    assert spec.label == "氏名"
    with translation.override("en"):
        assert spec.label == "Name"
        assert make("text", label="氏名").label == "氏名"


@pytest.mark.parametrize(
    ("changes", "code", "subfield"),
    [
        ({"bank_code": "0002"}, "bank_unknown", "bank_code"),
        ({"bank_code": "0009", "branch_code": "999"}, "branch_unknown", "branch_code"),
    ],
)
def test_bank_and_branch_codes_must_be_in_the_master(
    changes: dict[str, str], code: str, subfield: str
) -> None:
    """Four and three digits are not enough: the 全銀協 master must know the bank and branch."""
    error = refused(make("bank_account"), {**BANK, **changes})
    assert (error.code, error.subfield) == (code, subfield)
