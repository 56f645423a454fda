"""CSV intake of notifications in batches: each row filed on its own, broken rows reported.

A row is filed through :func:`services.notification_submit` inside its own savepoint, so a
refused row stores nothing and does not stop the others. Dates are ISO (2026-11-20) or with
slashes (2026/11/20); 症状 and 診断方法 are separated by ``;``. The optional 疾患 column names
the disease (its Japanese name or its code); without it, or left empty, a row is COVID-19.
The other optional columns carry the items of the diseases that need them (麻しん).
"""

from __future__ import annotations

import csv
import datetime
import io
from dataclasses import dataclass, field

from django.utils.translation import gettext as _

from madoguchi.audit.services import AuditActor
from madoguchi.surveillance.diseases import (
    COVID19,
    DISEASES,
    INFECTION_AREAS,
    MEASLES,
    VACCINATION_ANSWERS,
    Disease,
)
from madoguchi.surveillance.models import Clinic
from madoguchi.surveillance.notifications import NotificationInput
from madoguchi.surveillance.services import NotificationInvalidError, notification_submit

__all__ = ["COLUMNS", "OPTIONAL_COLUMNS", "CsvRowResult", "notification_csv_import"]

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
# Columns a file may leave out (header -> NotificationInput field).
OPTIONAL_COLUMNS: dict[str, str] = {
    "疾患": "disease",
    "病型": "disease_type",
    "発疹出現日": "rash_date",
    "初診年月日": "first_visit_date",
    "感染推定日": "infection_date",
    "感染地域": "infection_area",
    "感染国": "infection_country",
    "予防接種歴1回目": "vaccine_1",
    "1回目接種日": "vaccine_1_date",
    "予防接種歴2回目": "vaccine_2",
    "2回目接種日": "vaccine_2_date",
}
MAX_ROWS = 2000
_SEX = {"男": "male", "女": "female", "その他": "other", "不明": "other"}
# Short names accepted besides the full labels of the registry.
_TESTS = {
    COVID19: {"PCR": "pcr", "抗原定性": "antigen", "抗原定量": "antigen_quant"},
    MEASLES: {
        "分離・同定": "isolation",
        "PCR": "genome",
        "LAMP": "genome",
        "IgM": "igm",
        "ペア血清": "paired_sera",
        "臨床決定": "clinical",
    },
}


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


def _disease(raw: str) -> Disease:
    text = raw.strip()
    if not text:
        return DISEASES[COVID19]
    for disease in DISEASES.values():
        if text in (disease.code, str(disease.name)):
            return disease
    raise _RowError(
        _("疾患：「%(value)s」は届け出られる疾患にありません（%(known)s）。")
        % {"value": text[:50], "known": "、".join(str(d.name) for d in DISEASES.values())}
    )


def _choice(label: str, raw: str, choices: dict[str, str]) -> str:
    text = raw.strip()
    if not text:
        return ""
    if text in choices:
        return choices[text]
    raise _RowError(
        _("%(label)s：「%(value)s」は選択肢にありません。") % {"label": label, "value": text[:50]}
    )


def _choices(label: str, raw: str, choices: dict[str, str]) -> tuple[str, ...]:
    return tuple(_choice(label, part, choices) for part in raw.split(";") if part.strip())


def _row_input(row: dict[str, str]) -> NotificationInput:
    disease = _disease(row.get("疾患", ""))
    categories = {str(label): value for value, label in disease.category_choices()}
    category = categories.get(row["類型"].strip())
    if category is None:
        raise _RowError(_("類型：選択肢にない値です。"))
    symptoms = _choices("症状", row["症状"], {str(lb): code for code, lb in disease.symptoms})
    tests = {str(t.label): t.code for t in disease.test_methods} | _TESTS.get(disease.code, {})
    test_methods = _choices("診断方法", row["診断方法"], tests)
    sex = _SEX.get(row["性別"].strip(), "") if row["性別"].strip() else ""
    answers = {str(label): code for code, label in VACCINATION_ANSWERS}
    return NotificationInput(
        disease=disease.code,
        category=category,
        name=row["氏名"].strip()[:100],
        name_kana=row["ふりがな"].strip()[:100],
        sex=sex,
        birth_date=_date("生年月日", row["生年月日"]),
        address=row["住所"].strip()[:200],
        residence_code=row["所在地コード"].strip()[:6],
        phone=row["電話番号"].strip()[:20],
        symptoms=symptoms,
        test_method=test_methods[0] if test_methods and disease.code == COVID19 else "",
        test_methods=test_methods if disease.code != COVID19 else (),
        disease_type=_choice(
            "病型", row.get("病型", ""), {str(t.label): t.code for t in disease.disease_types}
        ),
        diagnosis_date=_date("診断年月日", row["診断年月日"]),
        onset_date=_date("発病年月日", row["発病年月日"]),
        rash_date=_date("発疹出現日", row.get("発疹出現日", "")),
        first_visit_date=_date("初診年月日", row.get("初診年月日", "")),
        infection_date=_date("感染推定日", row.get("感染推定日", "")),
        specimen_date=_date("検体採取日", row["検体採取日"]),
        death_date=_date("死亡年月日", row["死亡年月日"]),
        infection_area=_choice(
            "感染地域", row.get("感染地域", ""), {str(lb): c for c, lb in INFECTION_AREAS}
        ),
        infection_country=row.get("感染国", "").strip()[:100],
        vaccine_1=_choice("予防接種歴1回目", row.get("予防接種歴1回目", ""), answers),
        vaccine_1_date=_date("1回目接種日", row.get("1回目接種日", "")),
        vaccine_2=_choice("予防接種歴2回目", row.get("予防接種歴2回目", ""), answers),
        vaccine_2_date=_date("2回目接種日", row.get("2回目接種日", "")),
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
            labels = {v: k for k, v in (COLUMNS | OPTIONAL_COLUMNS).items()}
            result.errors.extend(f"{labels.get(e.field, e.field)}：{e.message}" for e in exc.errors)
        else:
            result.case_id, result.linked = filed.case.pk, not filed.created
        results.append(result)
    return results
