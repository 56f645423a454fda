"""CSV intake of notifications in batches: each row filed on its own, broken rows reported.

A row is filed through :func:`services.notification_submit` inside its own savepoint, so a
refused row stores nothing and does not stop the others. Dates are ISO (2026-11-20) or with
slashes (2026/11/20); 症状 are separated by ``;``.
"""

from __future__ import annotations

import csv
import datetime
import io
from dataclasses import dataclass, field

from django.utils.translation import gettext as _

from madoguchi.audit.services import AuditActor
from madoguchi.surveillance.models import Category, Clinic
from madoguchi.surveillance.notifications import NotificationInput
from madoguchi.surveillance.rules import SYMPTOMS
from madoguchi.surveillance.services import NotificationInvalidError, notification_submit

__all__ = ["COLUMNS", "CsvRowResult", "notification_csv_import"]

# Header -> NotificationInput field.
COLUMNS: dict[str, str] = {
    "類型": "category",
    "氏名": "name",
    "ふりがな": "name_kana",
    "性別": "sex",
    "生年月日": "birth_date",
    "住所": "address",
    "所在地コード": "residence_code",
    "電話番号": "phone",
    "症状": "symptoms",
    "診断方法": "test_method",
    "診断年月日": "diagnosis_date",
    "発病年月日": "onset_date",
    "検体採取日": "specimen_date",
    "死亡年月日": "death_date",
}
MAX_ROWS = 2000
_SEX = {"男": "male", "女": "female", "その他": "other", "不明": "other"}
_TESTS = {"PCR": "pcr", "抗原定性": "antigen", "抗原定量": "antigen_quant"}


@dataclass
class CsvRowResult:
    line: int
    case_id: int | None = None
    linked: bool = False
    errors: list[str] = field(default_factory=list)


class _RowError(Exception):
    pass


def _date(label: str, raw: str) -> datetime.date | None:
    text = raw.strip().replace("/", "-")
    if not text:
        return None
    parts = text.split("-")
    try:
        if len(parts) != 3 or not all(p.isdigit() and len(p) <= 4 for p in parts):
            raise ValueError(text)
        return datetime.date(int(parts[0]), int(parts[1]), int(parts[2]))
    except ValueError:
        raise _RowError(
            _("%(label)s：日付は 2026-11-20 の形で入力してください。") % {"label": label}
        ) from None


def _row_input(row: dict[str, str]) -> NotificationInput:
    categories = {str(label): value for value, label in Category.choices}
    symptom_codes = {str(label): code for code, label in SYMPTOMS}
    category = categories.get(row["類型"].strip())
    if category is None:
        raise _RowError(_("類型：選択肢にない値です。"))
    symptoms = [s.strip() for s in row["症状"].split(";") if s.strip()]
    unknown = [s for s in symptoms if s not in symptom_codes]
    if unknown:
        raise _RowError(_("症状：「%(value)s」は選択肢にありません。") % {"value": unknown[0]})
    sex = _SEX.get(row["性別"].strip(), "") if row["性別"].strip() else ""
    return NotificationInput(
        category=category,
        name=row["氏名"].strip()[:100],
        name_kana=row["ふりがな"].strip()[:100],
        sex=sex,
        birth_date=_date("生年月日", row["生年月日"]),
        address=row["住所"].strip()[:200],
        residence_code=row["所在地コード"].strip()[:6],
        phone=row["電話番号"].strip()[:20],
        symptoms=tuple(symptom_codes[s] for s in symptoms),
        test_method=_TESTS.get(row["診断方法"].strip(), ""),
        diagnosis_date=_date("診断年月日", row["診断年月日"]),
        onset_date=_date("発病年月日", row["発病年月日"]),
        specimen_date=_date("検体採取日", row["検体採取日"]),
        death_date=_date("死亡年月日", row["死亡年月日"]),
    )


def _decode(content: bytes) -> str:
    for encoding in ("utf-8-sig", "cp932"):
        try:
            return content.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise ValueError(_("文字コードを判別できません。UTF-8 または Shift_JIS で保存してください。"))


def notification_csv_import(
    *, clinic: Clinic, content: bytes, actor: AuditActor, today: datetime.date | None = None
) -> list[CsvRowResult]:
    """File every row of a CSV batch; returns one result per data row (line numbers from 2).

    A missing column or an unreadable file raises ``ValueError`` with a Japanese message and
    files nothing.
    """
    reader = csv.DictReader(io.StringIO(_decode(content)))
    missing = [c for c in COLUMNS if c not in (reader.fieldnames or [])]
    if missing:
        raise ValueError(_("列が足りません：%(columns)s") % {"columns": "、".join(missing)})
    rows = list(reader)
    if len(rows) > MAX_ROWS:
        raise ValueError(_("一度に取り込めるのは %(n)d 行までです。") % {"n": MAX_ROWS})
    results: list[CsvRowResult] = []
    for index, row in enumerate(rows, start=2):
        result = CsvRowResult(line=index)
        try:
            clean = {k: (v or "") for k, v in row.items() if isinstance(k, str)}
            filed = notification_submit(
                clinic=clinic, data=_row_input(clean), actor=actor, today=today
            )
        except _RowError as exc:
            result.errors.append(str(exc))
        except NotificationInvalidError as exc:
            labels = {v: k for k, v in COLUMNS.items()}
            result.errors.extend(f"{labels.get(e.field, e.field)}：{e.message}" for e in exc.errors)
        else:
            result.case_id, result.linked = filed.case.pk, not filed.created
        results.append(result)
    return results
