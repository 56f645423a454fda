"""FAQ entries to and from CSV (UTF-8 with or without BOM, or cp932 as Excel writes it).

An import checks every row first and stores nothing when any row is wrong; the error list names
each broken row and what to fix.
"""

from __future__ import annotations

import csv
import datetime
import io
import unicodedata
from dataclasses import dataclass, field, replace

from django.db import transaction
from django.utils.translation import gettext as _

from madoguchi.audit.services import AuditActor, audit_event
from madoguchi.consultation.errors import ConsultationError, ConsultationErrorCode
from madoguchi.consultation.models import FaqEntry
from madoguchi.consultation.services import (
    FaqData,
    clean_faq_data,
    departments_by_code,
    faq_apply,
    faq_data_errors,
    knowledge_touch,
)
from madoguchi.core.csvutil import csv_cell
from madoguchi.tenants.models import Municipality

__all__ = ["COLUMNS", "ImportReport", "faq_export_csv", "faq_import_csv"]

# (Japanese header, English alias)
COLUMNS = (
    ("管理番号", "code"),
    ("分類", "category"),
    ("担当部署コード", "department"),
    ("質問", "question"),
    ("言い換え", "alternatives"),
    ("回答", "answer"),
    ("掲載開始日", "valid_from"),
    ("掲載終了日", "valid_until"),
    ("公開", "published"),
    ("一行回答", "direct_answer"),
    ("質問（英語）", "question_en"),
    ("言い換え（英語）", "alternatives_en"),
    ("回答（英語）", "answer_en"),
    ("一行回答（英語）", "direct_answer_en"),
)
# Columns added after the first release: a file without one (written before) keeps what an
# existing entry holds there instead of emptying it.
_LATER_COLUMNS = (
    "direct_answer",
    "question_en",
    "alternatives_en",
    "answer_en",
    "direct_answer_en",
)
_REQUIRED = ("code", "category", "question", "answer")
_MAX_ROWS = 10_000
_MAX_BYTES = 10 * 1024 * 1024
_ALTERNATIVE_SEPARATORS = ("｜", "\n")
_TRUE = {"", "1", "true", "yes", "はい", "公開", "○"}
_FALSE = {"0", "false", "no", "いいえ", "非公開", "×"}


@dataclass
class ImportReport:
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    errors: list[str] = field(default_factory=list)


def decode_csv(raw: bytes) -> str:
    """The text of an uploaded file: UTF-8 (BOM or not) first, then cp932."""
    if len(raw) > _MAX_BYTES:
        raise ConsultationError(
            ConsultationErrorCode.CSV_INVALID, _("ファイルが大きすぎます（10MBまで）。")
        )
    for encoding in ("utf-8-sig", "cp932"):
        try:
            return raw.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise ConsultationError(
        ConsultationErrorCode.CSV_INVALID,
        _("文字コードを判別できません。UTF-8 または Shift_JIS（cp932）で保存してください。"),
    )


def _uncell(value: str | None) -> str:
    text = (value or "").strip()
    # Export protects formula-like cells with an apostrophe; take it off again.
    if len(text) > 1 and text[0] == "'" and text[1] in "=+-@":
        return text[1:]
    return text


def _date(value: str, row: int, label: str, errors: list[str]) -> datetime.date | None:
    if not value:
        return None
    try:
        return datetime.date.fromisoformat(value.replace("/", "-"))
    except ValueError:
        errors.append(
            _("%(row)d行目：%(label)sは「2026-04-01」の形で入力してください（「%(value)s」）。")
            % {"row": row, "label": label, "value": value[:20]}
        )
        return None


_COLUMN_KEYS = {unicodedata.normalize("NFKC", ja): key for ja, key in COLUMNS} | {
    key: key for _ja, key in COLUMNS
}


def _column_key(header: str) -> str:
    """The key of a header cell (「質問(英語)」 typed with 半角 brackets counts too), or ""."""
    return _COLUMN_KEYS.get(unicodedata.normalize("NFKC", header.strip()), "")


def _alternatives(value: str) -> tuple[str, ...]:
    for separator in _ALTERNATIVE_SEPARATORS:
        value = value.replace(separator, "|")
    return tuple(a.strip() for a in value.split("|") if a.strip())


def _column_keys(text: str) -> set[str]:
    """The keys of the columns the file's header names."""
    try:
        header = next(csv.reader(io.StringIO(text, newline="")), [])
    except csv.Error:
        return set()
    return {key for key in (_column_key(h) for h in header) if key}


def parse_rows(text: str) -> tuple[list[tuple[int, FaqData]], list[str]]:
    """Rows as FaqData with their line numbers, and the errors found in the structure."""
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = next(reader)
    except StopIteration:
        return [], [_("ファイルが空です。1行目に見出しを入れてください。")]
    except csv.Error as exc:
        return [], [_("CSVとして読めません：%(error)s") % {"error": exc}]
    positions = {key: i for i, key in ((i, _column_key(h)) for i, h in enumerate(header)) if key}
    missing = [ja for ja, key in COLUMNS if key in _REQUIRED and key not in positions]
    if missing:
        return [], [_("見出しに「%(names)s」がありません。") % {"names": "」「".join(missing)}]
    rows: list[tuple[int, FaqData]] = []
    errors: list[str] = []
    line = 1
    while True:
        try:
            cells = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:
            errors.append(
                _("%(row)d行目：CSVとして読めません（%(error)s）。")
                % {"row": line + 1, "error": exc}
            )
            break
        line = reader.line_num
        if not any(c.strip() for c in cells):
            continue
        if len(rows) >= _MAX_ROWS:
            errors.append(_("一度に取り込めるのは10,000行までです。"))
            break
        if len(cells) > len(header):
            errors.append(
                _('%(row)d行目：列が見出しより多くあります。「,」を含む値は「"」で囲んでください。')
                % {"row": line}
            )
            continue

        def cell(key: str, cells: list[str] = cells) -> str:
            position = positions.get(key)
            return (
                _uncell(cells[position]) if position is not None and position < len(cells) else ""
            )

        published = cell("published").lower()
        if published not in _TRUE | _FALSE:
            errors.append(_("%(row)d行目：公開は 1 か 0 で入力してください。") % {"row": line})
        rows.append(
            (
                line,
                FaqData(
                    code=cell("code"),
                    category=cell("category"),
                    question=cell("question"),
                    answer=cell("answer"),
                    alternatives=_alternatives(cell("alternatives")),
                    department_code=cell("department"),
                    valid_from=_date(cell("valid_from"), line, "掲載開始日", errors),
                    valid_until=_date(cell("valid_until"), line, "掲載終了日", errors),
                    is_published=published not in _FALSE,
                    direct_answer=cell("direct_answer"),
                    question_en=cell("question_en"),
                    alternatives_en=_alternatives(cell("alternatives_en")),
                    answer_en=cell("answer_en"),
                    direct_answer_en=cell("direct_answer_en"),
                ),
            )
        )
    return rows, errors


def _keep_absent(municipality: Municipality, data: FaqData, absent: list[str]) -> FaqData:
    """``data`` with the stored values of the columns the file does not have."""
    if not absent:
        return data
    entry = FaqEntry.objects.filter(municipality=municipality, code=data.code.strip()).first()
    if entry is None:
        return data
    return replace(
        data,
        direct_answer=entry.direct_answer if "direct_answer" in absent else data.direct_answer,
        question_en=entry.question_en if "question_en" in absent else data.question_en,
        alternatives_en=tuple(entry.alternatives_en)
        if "alternatives_en" in absent
        else data.alternatives_en,
        answer_en=entry.answer_en if "answer_en" in absent else data.answer_en,
        direct_answer_en=entry.direct_answer_en
        if "direct_answer_en" in absent
        else data.direct_answer_en,
    )


@transaction.atomic
def faq_import_csv(*, municipality: Municipality, raw: bytes, actor: AuditActor) -> ImportReport:
    """Create or update entries from a CSV file; all rows or none.

    Raises ConsultationError whose ``errors`` list every broken row when any row is wrong.
    """
    text = decode_csv(raw)
    rows, errors = parse_rows(text)
    absent = [key for key in _LATER_COLUMNS if key not in _column_keys(text)]
    departments = departments_by_code(municipality)
    seen: dict[str, int] = {}
    cleaned: list[FaqData] = []
    for line, data in rows:
        data = clean_faq_data(_keep_absent(municipality, data, absent))
        for message in faq_data_errors(data, departments=departments):
            errors.append(_("%(row)d行目：%(message)s") % {"row": line, "message": message})
        if data.code in seen:
            errors.append(
                _("%(row)d行目：管理番号「%(code)s」が%(first)d行目と重なっています。")
                % {"row": line, "code": data.code, "first": seen[data.code]}
            )
        seen.setdefault(data.code, line)
        cleaned.append(data)
    if not errors and not cleaned:
        errors.append(_("取り込む行がありません。"))
    if errors:
        raise ConsultationError(ConsultationErrorCode.CSV_INVALID, errors[0], errors)
    report = ImportReport()
    for data in cleaned:
        before = FaqEntry.objects.filter(municipality=municipality, code=data.code).first()
        before_updated = before.updated_at if before is not None else None
        entry, created = faq_apply(municipality=municipality, data=data, departments=departments)
        if created:
            report.created += 1
        elif entry.updated_at != before_updated:
            report.updated += 1
        else:
            report.unchanged += 1
    if report.created or report.updated:
        knowledge_touch(municipality=municipality)
    audit_event(
        municipality=municipality,
        action="consultation.faq.import",
        actor=actor,
        data={"created": report.created, "updated": report.updated, "unchanged": report.unchanged},
    )
    return report


def faq_export_csv(*, municipality: Municipality, encoding: str = "utf-8") -> bytes:
    """Every entry as CSV in ``encoding`` (``utf-8`` with a BOM for Excel, or ``cp932``).

    Raises ConsultationError naming the entry when cp932 cannot hold a character of it.
    """
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow([ja for ja, _key in COLUMNS])
    entries = FaqEntry.objects.filter(municipality=municipality).select_related("department")
    for entry in entries.order_by("category", "code"):
        row = [
            entry.code,
            entry.category,
            entry.department.code if entry.department else "",
            entry.question,
            " | ".join(entry.alternatives),
            entry.answer,
            entry.valid_from.isoformat() if entry.valid_from else "",
            entry.valid_until.isoformat() if entry.valid_until else "",
            "1" if entry.is_published else "0",
            entry.direct_answer,
            entry.question_en,
            " | ".join(entry.alternatives_en),
            entry.answer_en,
            entry.direct_answer_en,
        ]
        cells = [csv_cell(value) for value in row]
        if encoding == "cp932":
            try:
                "".join(cells).encode("cp932")
            except UnicodeEncodeError:
                raise ConsultationError(
                    ConsultationErrorCode.CSV_INVALID,
                    _(
                        "管理番号「%(code)s」に Shift_JIS で表せない文字があります。"
                        "UTF-8 で書き出してください。"
                    )
                    % {"code": entry.code},
                ) from None
        writer.writerow(cells)
    text = buffer.getvalue()
    return text.encode("cp932") if encoding == "cp932" else ("\ufeff" + text).encode("utf-8")
