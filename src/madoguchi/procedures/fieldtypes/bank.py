"""Bank account fields, and the conversion of names to the characters of a bank transfer."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Final

from django.utils.html import format_html_join
from django.utils.translation import gettext as _

from madoguchi.core.japanese import (
    normalize_digits,
    normalize_text,
    to_halfwidth_katakana,
    to_katakana,
)
from madoguchi.core.templatetags.madoguchi import html_interpolate, typed_ja
from madoguchi.procedures.banks import bank_get, branch_get
from madoguchi.procedures.fieldtypes.base import (
    FieldType,
    _invalid_type,
    is_blank,
)
from madoguchi.procedures.fieldtypes.errors import FieldErrorCode, FieldInvalid

if TYPE_CHECKING:
    from madoguchi.procedures.fieldtypes.base import JsonSchema
    from madoguchi.procedures.fieldtypes.spec import FieldSpec


_HALFWIDTH_KANA_LETTERS: Final = "".join(chr(code) for code in range(0xFF71, 0xFF9E))  # ｱ..ﾝ
# What 全銀協 transfer files accept in a 受取人名 (JAPAN_SPECS.md): 半角カナ with ﾞ and ﾟ as
# separate characters, upper-case letters, digits, space and ( ) . - /. Not ｦ, ｰ, ･ or small kana.
BANK_HOLDER_CHARACTERS: Final = frozenset(
    _HALFWIDTH_KANA_LETTERS + "ﾞﾟ" + "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789" + " ().-/"
)
_BANK_HOLDER_MAX_LENGTH: Final = 30
# Kana without a half-width form, written the way banks register them.
_BANK_FULLWIDTH_FOLD: Final = str.maketrans(
    {"ヰ": "イ", "ヱ": "エ", "ヮ": "ワ", "ヵ": "カ", "ヶ": "ケ", "ヸ": "イ゛", "ヹ": "エ゛"}
)
# Small kana become large (ｷｬ -> ｷﾔ), as banks require; ｦ has the sound of ｵ; the 長音 is written
# as a hyphen and ・ between the parts of a foreign name as a space.
_BANK_HALFWIDTH_FOLD: Final = str.maketrans(
    {
        "ｧ": "ｱ",
        "ｨ": "ｲ",
        "ｩ": "ｳ",
        "ｪ": "ｴ",
        "ｫ": "ｵ",
        "ｯ": "ﾂ",
        "ｬ": "ﾔ",
        "ｭ": "ﾕ",
        "ｮ": "ﾖ",
        "ｦ": "ｵ",
        "ｰ": "-",
        "･": " ",
    }
)
_SPACES: Final = re.compile(r" {2,}")


def to_bank_kana(text: str) -> str:
    """Return ``text`` in the characters of a bank transfer name, as far as they convert.

    全角 and 半角 katakana and ひらがな become 半角カナ with small kana made large
    ("きゃっしゅ" -> "ｷﾔﾂｼﾕ"), ASCII letters become upper case, ー becomes "-" and ・ a space.
    Characters with no such form (kanji, 「」, …) are kept: check the result against
    :data:`BANK_HOLDER_CHARACTERS`. The function is idempotent.
    """
    converted = to_katakana(normalize_text(text)).translate(_BANK_FULLWIDTH_FOLD)
    converted = to_halfwidth_katakana(converted.upper()).translate(_BANK_HALFWIDTH_FOLD)
    return _SPACES.sub(" ", converted).strip()


_ACCOUNT_TYPES: Final = {
    "普通": "普通",
    "普通預金": "普通",
    "1": "普通",
    "futsu": "普通",
    "futsuu": "普通",
    "当座": "当座",
    "当座預金": "当座",
    "2": "当座",
    "toza": "当座",
    "touza": "当座",
}
_BANK_PARTS: Final = ("bank_code", "branch_code", "account_type", "account_number", "holder_name")
_JAPAN_POST_BANK: Final = "9900"  # ゆうちょ銀行
# The stored account types (the Zengin format's words) as shown to a reader.
_ACCOUNT_TYPE_NAMES: Final[dict[str, Callable[[], str]]] = {
    "普通": lambda: _("普通"),
    "当座": lambda: _("当座"),
}


def _plain(pattern: str, **values: object) -> str:
    return pattern % values


def _part_label(part: str) -> str:
    labels = {
        "bank_code": _("金融機関コード"),
        "branch_code": _("支店コード"),
        "account_type": _("預金種目"),
        "account_number": _("口座番号"),
        "holder_name": _("口座名義"),
    }
    return labels[part]


def _digits_part(value: object, length: int) -> str | None:
    """Return ``value`` as exactly ``length`` ASCII digits, or None."""
    if not isinstance(value, str):
        return None
    text = normalize_digits(normalize_text(value))
    return text if len(text) == length and text.isascii() and text.isdigit() else None


class BankAccountType(FieldType):
    """A Japanese bank account for a transfer: bank, branch, type, number and holder name.

    Stored as a dict of strings; the account number is left-padded to 7 digits and the holder
    name converted with :func:`to_bank_kana`. The first failing part is named in ``subfield``.
    """

    name = "bank_account"

    def clean_value(self, value: object, spec: FieldSpec) -> object:
        if not isinstance(value, Mapping):
            raise _invalid_type(spec)
        for part in _BANK_PARTS:
            if is_blank(value.get(part)):
                if part == "account_type":
                    message = _("預金種目を選択してください。")
                else:
                    message = _("%(part)sを入力してください。") % {"part": _part_label(part)}
                raise FieldInvalid(FieldErrorCode.REQUIRED, message, part)
        bank_code = _digits_part(value["bank_code"], 4)
        if bank_code is None:
            raise FieldInvalid(
                FieldErrorCode.BANK_CODE_FORMAT,
                _("金融機関コードは4桁の数字で入力してください（例：0001）。"),
                "bank_code",
            )
        branch_code = _digits_part(value["branch_code"], 3)
        if branch_code is None:
            raise FieldInvalid(
                FieldErrorCode.BRANCH_CODE_FORMAT,
                _("支店コードは3桁の数字で入力してください（例：001）。"),
                "branch_code",
            )
        cleaned = {
            "bank_code": bank_code,
            "branch_code": branch_code,
            "account_type": self._account_type(value["account_type"]),
            "account_number": self._account_number(value["account_number"], bank_code),
            "holder_name": self._holder_name(value["holder_name"]),
        }
        # Codes of the right form that the 全銀協 master does not know: checked after the
        # other parts, whose messages say more about a mistyped passbook.
        bank = bank_get(bank_code)
        if bank is None:
            raise FieldInvalid(
                FieldErrorCode.BANK_UNKNOWN,
                _(
                    "金融機関コード「%(code)s」の金融機関は見つかりません。"
                    "金融機関名で検索して選んでください。"
                )
                % {"code": bank_code},
                "bank_code",
            )
        if branch_get(bank_code, branch_code) is None:
            raise FieldInvalid(
                FieldErrorCode.BRANCH_UNKNOWN,
                _(
                    "%(bank)sに支店コード「%(code)s」の支店は見つかりません。"
                    "支店名で検索して選んでください。"
                )
                % {"bank": bank.display, "code": branch_code},
                "branch_code",
            )
        return cleaned

    def _account_type(self, value: object) -> str:
        if isinstance(value, int) and not isinstance(value, bool):
            value = str(value)
        account_type = None
        if isinstance(value, str):
            account_type = _ACCOUNT_TYPES.get(normalize_text(value).lower())
        if account_type is None:
            raise FieldInvalid(
                FieldErrorCode.ACCOUNT_TYPE_INVALID,
                _("預金種目は「普通」か「当座」を選択してください。"),
                "account_type",
            )
        return account_type

    def _account_number(self, value: object, bank_code: str) -> str:
        text = normalize_digits(normalize_text(value)) if isinstance(value, str) else ""
        if 1 <= len(text) <= 7 and text.isascii() and text.isdigit():
            # Passbooks print 7 digits but residents often drop the leading zeros.
            return text.zfill(7)
        if bank_code == _JAPAN_POST_BANK:
            # A ゆうちょ passbook shows a 記号 and an 8-digit 番号, which are not a transfer
            # account; residents type them here more than any other mistake.
            message = _(
                "ゆうちょ銀行の口座は、記号・番号ではなく振込用の店番と口座番号（7桁）を"
                "入力してください。"
            )
        else:
            message = _("口座番号は7桁以内の数字で入力してください。")
        raise FieldInvalid(FieldErrorCode.ACCOUNT_NUMBER_FORMAT, message, "account_number")

    def _holder_name(self, value: object) -> str:
        if not isinstance(value, str):
            raise FieldInvalid(
                FieldErrorCode.HOLDER_NAME_NOT_KANA,
                _("口座名義はカナで入力してください。"),
                "holder_name",
            )
        name = to_bank_kana(value)
        refused = [char for char in name if char not in BANK_HOLDER_CHARACTERS]
        if any(unicodedata.category(char).startswith("L") for char in refused):
            raise FieldInvalid(
                FieldErrorCode.HOLDER_NAME_NOT_KANA,
                _("口座名義はカナで入力してください。"),
                "holder_name",
            )
        if refused:
            raise FieldInvalid(
                FieldErrorCode.HOLDER_NAME_SYMBOL,
                _("口座名義に使える記号は ( ) . - / だけです。"),
                "holder_name",
            )
        if len(name) > _BANK_HOLDER_MAX_LENGTH:
            raise FieldInvalid(
                FieldErrorCode.TOO_LONG,
                _("口座名義は半角%(max)d文字以内で入力してください（濁点も1文字です）。")
                % {"max": _BANK_HOLDER_MAX_LENGTH},
                "holder_name",
            )
        return name

    def display_value(self, value: object, spec: FieldSpec) -> str:
        """Bank and branch by name with their codes, then type, number and holder."""
        if not isinstance(value, Mapping):
            return str(value)
        return _("／").join(self._display_parts(value, str, _plain))

    def display_html(self, value: object, spec: FieldSpec) -> str:
        """``display_value`` with the bank's, branch's and holder's names marked Japanese."""
        if not isinstance(value, Mapping):
            return super().display_html(value, spec)
        parts = self._display_parts(value, typed_ja, html_interpolate)
        return format_html_join(_("／"), "{}", ((part,) for part in parts))

    def _display_parts(
        self,
        value: Mapping[str, object],
        mark: Callable[[object], str],
        interpolate: Callable[..., str],
    ) -> list[str]:
        bank_code = str(value.get("bank_code", ""))
        branch_code = str(value.get("branch_code", ""))
        bank = bank_get(bank_code)
        branch = branch_get(bank_code, branch_code)
        account_type = str(value.get("account_type", ""))
        named = "%(name)s（%(code)s）"
        labelled = "%(label)s %(value)s"
        return [
            interpolate(named, name=mark(bank.display), code=bank_code)
            if bank is not None
            else interpolate(labelled, label=_part_label("bank_code"), value=bank_code),
            interpolate(named, name=mark(branch.display), code=branch_code)
            if branch is not None
            else interpolate(labelled, label=_part_label("branch_code"), value=branch_code),
            _ACCOUNT_TYPE_NAMES[account_type]()
            if account_type in _ACCOUNT_TYPE_NAMES
            else account_type,
            interpolate(
                labelled,
                label=_part_label("account_number"),
                value=str(value.get("account_number", "")),
            ),
            interpolate(
                labelled,
                label=_part_label("holder_name"),
                value=mark(str(value.get("holder_name", ""))),
            ),
        ]

    def value_schema(self, spec: FieldSpec) -> JsonSchema:
        return {
            "type": "object",
            "properties": {
                "bank_code": {"type": "string", "examples": ["0001"]},
                "branch_code": {"type": "string", "examples": ["001"]},
                "account_type": {"type": "string", "enum": ["普通", "当座"]},
                "account_number": {"type": "string", "examples": ["1234567"]},
                "holder_name": {"type": "string", "examples": ["ﾔﾏﾀﾞ ﾀﾛｳ"]},
            },
            "required": list(_BANK_PARTS),
        }
