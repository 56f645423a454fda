"""The national COVID-19 open-data formats: columns in order, types, variants seen in the wild.

Source: 新型コロナウイルス感染症対策に関するオープンデータ項目定義書 (内閣官房 IT総合戦略室, 2020),
as transcribed in ``datamodels.md`` of NEC-FIWARE/smart-data-models (MIT). Real files differ:
Tokyo adds ``曜日`` after the date and writes ``患者_属性`` and ``退院済フラグ``; others add
``患者_再陽性フラグ``. A variant of a national column is read as that column; a known column that
is not a national item is read and dropped; anything else is reported as unknown.
"""

from __future__ import annotations

import enum
import unicodedata
from dataclasses import dataclass, field

from madoguchi.opendata.models import AgeGroup, Condition, Dataset, Sex

__all__ = [
    "FORMATS",
    "ColumnSpec",
    "ColumnType",
    "DatasetFormat",
    "header_key",
]


class ColumnType(enum.Enum):
    DATE = "date"
    COUNT = "count"
    TEXT = "text"
    FLAG = "flag"
    CHOICE = "choice"
    CODE = "code"  # 全国地方公共団体コード
    PREFECTURE = "prefecture"  # 都道府県名
    MUNICIPALITY = "municipality"  # 市区町村名
    NUMBER = "number"  # No, the patients' natural key


@dataclass(frozen=True, slots=True)
class ColumnSpec:
    """One national column: its name, the record field it fills and how its cells read."""

    name: str
    field: str
    type: ColumnType
    required: bool = False  # the column must be present and every cell filled
    max_length: int = 0
    choices: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class DatasetFormat:
    dataset: Dataset
    columns: tuple[ColumnSpec, ...]  # in the national order
    key: str  # the field that identifies a row (natural key)
    aliases: dict[str, str] = field(default_factory=dict)  # variant -> national name
    ignored: frozenset[str] = frozenset()  # known columns that are read and dropped

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns)

    def column(self, name: str) -> ColumnSpec:
        return next(c for c in self.columns if c.name == name)

    @property
    def key_column(self) -> ColumnSpec:
        return next(c for c in self.columns if c.field == self.key)


def header_key(text: str) -> str:
    """A header cell as compared: NFKC (Ｎｏ→No, ＿→_), no spaces, no BOM, case-folded."""
    folded = unicodedata.normalize("NFKC", text).replace("\ufeff", "")
    return "".join(folded.split()).casefold()


_PLACE = (
    ColumnSpec("全国地方公共団体コード", "code", ColumnType.CODE),
    ColumnSpec("都道府県名", "prefecture_name", ColumnType.PREFECTURE),
    ColumnSpec("市区町村名", "municipality_name", ColumnType.MUNICIPALITY),
)
_PLACE_ALIASES = {
    "地方公共団体コード": "全国地方公共団体コード",
    "団体コード": "全国地方公共団体コード",
    "自治体コード": "全国地方公共団体コード",
    "都道府県": "都道府県名",
    "市区町村": "市区町村名",
}
_NOTE = ColumnSpec("備考", "note", ColumnType.TEXT, max_length=1000)
# Days of the week (Tokyo) are derived from the date; 再陽性 is not a national item.
_IGNORED = frozenset({"曜日", "患者_再陽性フラグ", "再陽性フラグ"})


def _daily(
    dataset: Dataset, date_name: str, count_name: str, aliases: dict[str, str]
) -> DatasetFormat:
    return DatasetFormat(
        dataset=dataset,
        columns=(
            ColumnSpec(date_name, "date", ColumnType.DATE, required=True),
            *_PLACE,
            ColumnSpec(count_name, "count", ColumnType.COUNT, required=True),
            _NOTE,
        ),
        key="date",
        aliases={**_PLACE_ALIASES, **aliases},
        ignored=_IGNORED,
    )


PATIENTS = DatasetFormat(
    dataset=Dataset.PATIENTS,
    columns=(
        ColumnSpec("No", "number", ColumnType.NUMBER, required=True, max_length=20),
        *_PLACE,
        ColumnSpec("公表_年月日", "published_on", ColumnType.DATE, required=True),
        ColumnSpec("発症_年月日", "onset_on", ColumnType.DATE),
        ColumnSpec("患者_居住地", "residence", ColumnType.TEXT, max_length=100),
        ColumnSpec("患者_年代", "age_group", ColumnType.CHOICE, choices=tuple(AgeGroup.values)),
        ColumnSpec("患者_性別", "sex", ColumnType.CHOICE, choices=tuple(Sex.values)),
        ColumnSpec("患者_職業", "occupation", ColumnType.TEXT, max_length=100),
        ColumnSpec("患者_状態", "condition", ColumnType.CHOICE, choices=tuple(Condition.values)),
        ColumnSpec("患者_症状", "symptoms", ColumnType.TEXT, max_length=200),
        ColumnSpec("患者_渡航歴の有無フラグ", "travel_history", ColumnType.FLAG),
        ColumnSpec("患者_退院済フラグ", "discharged", ColumnType.FLAG),
        _NOTE,
    ),
    key="number",
    aliases={
        **_PLACE_ALIASES,
        "No.": "No",
        "番号": "No",
        "公表日": "公表_年月日",
        "公表年月日": "公表_年月日",
        "発症日": "発症_年月日",
        "発症年月日": "発症_年月日",
        "居住地": "患者_居住地",
        "年代": "患者_年代",
        "性別": "患者_性別",
        "職業": "患者_職業",
        "患者_属性": "患者_職業",  # Tokyo
        "状態": "患者_状態",
        "症状": "患者_症状",
        "渡航歴の有無フラグ": "患者_渡航歴の有無フラグ",
        "退院済フラグ": "患者_退院済フラグ",  # Tokyo
    },
    ignored=_IGNORED,
)

FORMATS: dict[str, DatasetFormat] = {
    Dataset.PATIENTS: PATIENTS,
    Dataset.TEST_PEOPLE: _daily(
        Dataset.TEST_PEOPLE,
        "実施_年月日",
        "検査実施_人数",
        {"実施年月日": "実施_年月日", "検査実施人数": "検査実施_人数"},
    ),
    Dataset.TEST_COUNT: _daily(
        Dataset.TEST_COUNT,
        "実施_年月日",
        "検査実施_件数",
        {"実施年月日": "実施_年月日", "検査実施件数": "検査実施_件数"},
    ),
    Dataset.CONFIRM_NEGATIVE: _daily(
        Dataset.CONFIRM_NEGATIVE,
        "完了_年月日",
        "陰性確認_件数",
        {"完了年月日": "完了_年月日", "陰性確認件数": "陰性確認_件数"},
    ),
    Dataset.CALL_CENTER: _daily(
        Dataset.CALL_CENTER,
        "受付_年月日",
        "相談件数",
        {"受付年月日": "受付_年月日", "受付日": "受付_年月日", "相談_件数": "相談件数"},
    ),
}
