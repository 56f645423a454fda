"""Reading an open-data CSV file into checked rows, with every problem named.

Nothing here writes: :func:`read_dataset_file` returns the good rows and the problems, and
:func:`madoguchi.opendata.services.dataset_import` decides what to store.
"""

from __future__ import annotations

import csv
import io
import unicodedata
from dataclasses import dataclass, field

from django.utils.translation import gettext as _

from madoguchi.opendata.cells import CellValue, folded_to, read_cell, read_code
from madoguchi.opendata.errors import CellError, Problem, ProblemCode
from madoguchi.opendata.formats import ColumnType, DatasetFormat, header_key
from madoguchi.tenants.models import Municipality

__all__ = ["ParsedFile", "ParsedRow", "decode", "read_dataset_file"]


@dataclass(frozen=True, slots=True)
class ParsedRow:
    line: int
    values: dict[str, CellValue]


@dataclass
class ParsedFile:
    """What a file holds: its encoding and columns, the good rows and every problem."""

    encoding: str = ""
    columns: tuple[str, ...] = ()
    renamed_columns: dict[str, str] = field(default_factory=dict)  # as written -> national
    unknown_columns: tuple[str, ...] = ()
    ignored_columns: tuple[str, ...] = ()
    file_problems: list[Problem] = field(default_factory=list)
    row_problems: list[Problem] = field(default_factory=list)
    rows: list[ParsedRow] = field(default_factory=list)
    bad_lines: list[int] = field(default_factory=list)
    rows_read: int = 0
    # (column, as written, as stored) -> rows, over the good rows, in the order first seen
    foldings: dict[tuple[str, str, str], int] = field(default_factory=dict)


def _knows_header(text: str, fmt: DatasetFormat) -> bool:
    first = text.lstrip("\ufeff").split("\n", 1)[0]
    keys = {header_key(cell) for cell in first.split(",")}
    known = {header_key(n) for n in fmt.names} | {header_key(a) for a in fmt.aliases}
    return bool(keys & known)


def _problem(code: ProblemCode, message: str) -> Problem:
    return Problem(code=code, message=message)


def decode(data: bytes, fmt: DatasetFormat) -> tuple[str, str] | Problem:
    """The text and encoding name of ``data``, or the Problem that stops reading it.

    UTF-8 with or without a BOM is tried first, then cp932 (Windows Shift_JIS, which Excel
    writes in Japan). EUC-JP often decodes as cp932 without error but as garbage, so a cp932
    result whose header names no known column is also tried as EUC-JP, to say so.
    """
    if not data.strip():
        return _problem(ProblemCode.EMPTY, _("ファイルが空です。"))
    if data.startswith((b"PK\x03\x04", b"\xd0\xcf\x11\xe0")):
        return _problem(
            ProblemCode.SPREADSHEET,
            _("Excel 形式のファイルです。CSV（UTF-8 または Shift_JIS）で保存し直してください。"),
        )
    if data.startswith((b"\xff\xfe", b"\xfe\xff")) or data[:200].count(b"\x00") > 10:
        return _problem(
            ProblemCode.UTF16,
            _(
                "UTF-16 で保存されたファイルは読めません。"
                "UTF-8 または Shift_JIS で保存し直してください。"
            ),
        )
    if b"\x00" in data:
        return _problem(
            ProblemCode.BINARY, _("CSV ファイルではないようです（制御文字が含まれています）。")
        )
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        pass
    else:
        if text.startswith("\ufeff"):
            return text[1:], "UTF-8（BOM付き）"
        return text, "UTF-8"
    euc_jp = _problem(
        ProblemCode.EUC_JP,
        _("EUC-JP で保存されたファイルのようです。UTF-8 または Shift_JIS で保存し直してください。"),
    )
    try:
        text = data.decode("cp932")
    except UnicodeDecodeError:
        pass
    else:
        if _knows_header(text, fmt) or not _decodes_as_euc_jp_with_header(data, fmt):
            return text, "Shift_JIS（cp932）"
        return euc_jp
    if _decodes_as_euc_jp_with_header(data, fmt):
        return euc_jp
    return _problem(
        ProblemCode.ENCODING,
        _(
            "文字コードを読み取れません。UTF-8（BOM付き・なし）または Shift_JIS（cp932）で"
            "保存した CSV ファイルを選んでください。"
        ),
    )


def _decodes_as_euc_jp_with_header(data: bytes, fmt: DatasetFormat) -> bool:
    try:
        return _knows_header(data.decode("euc_jp"), fmt)
    except UnicodeDecodeError:
        return False


def _name_key(text: str) -> str:
    return "".join(unicodedata.normalize("NFKC", text).split())


@dataclass(frozen=True, slots=True)
class _Target:
    """The importing municipality, as its file's cells should name it."""

    code: str
    name: str
    prefecture_names: frozenset[str]
    municipality_names: frozenset[str]

    @classmethod
    def of(cls, municipality: Municipality) -> _Target:
        if municipality.is_prefecture or municipality.prefecture is None:
            return cls(
                municipality.code,
                municipality.name,
                frozenset({_name_key(municipality.name)}),
                frozenset({"", _name_key(municipality.name)}),
            )
        names = {_name_key(municipality.name)}
        parent = municipality.parent
        if parent is not None and parent.pk != municipality.prefecture_id:
            names.add(_name_key(parent.name + municipality.name))  # 神戸市 + 中央区
        return cls(
            municipality.code,
            municipality.name,
            frozenset({_name_key(municipality.prefecture.name)}),
            frozenset(names),
        )


def _map_header(header: list[str], fmt: DatasetFormat, parsed: ParsedFile) -> dict[str, int]:
    national = {header_key(n): n for n in fmt.names}
    aliases = {header_key(a): n for a, n in fmt.aliases.items()}
    ignored = {header_key(i) for i in fmt.ignored}
    positions: dict[str, int] = {}
    unknown: list[str] = []
    ignored_seen: list[str] = []
    for index, cell in enumerate(header):
        key = header_key(cell)
        if not key:
            continue
        name = national.get(key) or aliases.get(key)
        if name is None:
            (ignored_seen if key in ignored else unknown).append(cell.strip())
            continue
        if name in positions:
            parsed.file_problems.append(
                Problem(
                    ProblemCode.DUPLICATE_COLUMN,
                    _("列「%(column)s」が2回以上あります（別名の列も含みます）。")
                    % {"column": name},
                )
            )
            continue
        if cell.strip() != name:
            parsed.renamed_columns[cell.strip()] = name
        positions[name] = index
    parsed.unknown_columns = tuple(unknown)
    parsed.ignored_columns = tuple(ignored_seen)
    missing = [c.name for c in fmt.columns if c.required and c.name not in positions]
    if missing:
        parsed.file_problems.append(
            Problem(
                ProblemCode.MISSING_COLUMNS,
                _("必須の列がありません: %(columns)s") % {"columns": "、".join(missing)},
            )
        )
    return positions


def _read_row(
    cells: list[str], positions: dict[str, int], fmt: DatasetFormat, target: _Target, line: int
) -> tuple[dict[str, CellValue], list[Problem], list[tuple[str, str, str]]]:
    values: dict[str, CellValue] = {}
    problems: list[Problem] = []
    foldings: list[tuple[str, str, str]] = []
    for spec in fmt.columns:
        index = positions.get(spec.name)
        raw = cells[index] if index is not None and index < len(cells) else ""
        try:
            if spec.type is ColumnType.CODE:
                values[spec.field] = read_code(raw, expected=target.code, expected_name=target.name)
            elif spec.type in (ColumnType.PREFECTURE, ColumnType.MUNICIPALITY):
                allowed = (
                    target.prefecture_names
                    if spec.type is ColumnType.PREFECTURE
                    else target.municipality_names
                )
                if raw.strip() and _name_key(raw) not in allowed:
                    raise CellError(
                        ProblemCode.NAME_MISMATCH,
                        _("「%(column)s」の「%(value)s」は取り込み先（%(name)s）と合いません。")
                        % {"column": spec.name, "value": raw.strip(), "name": target.name},
                    )
            else:
                values[spec.field] = read_cell(spec, raw)
                stored = folded_to(spec, raw, values[spec.field])
                if stored is not None:
                    foldings.append((spec.name, raw.strip(), stored))
        except CellError as exc:
            problems.append(Problem(exc.code, exc.message, line=line, column=spec.name))
    return values, problems, foldings


def read_dataset_file(data: bytes, fmt: DatasetFormat, municipality: Municipality) -> ParsedFile:
    """Decode and check a whole file for ``municipality``; see :class:`ParsedFile`."""
    parsed = ParsedFile()
    decoded = decode(data, fmt)
    if isinstance(decoded, Problem):
        parsed.file_problems.append(decoded)
        return parsed
    text, parsed.encoding = decoded
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    target = _Target.of(municipality)
    positions: dict[str, int] | None = None
    width = 0
    seen_keys: dict[object, int] = {}
    key_spec = fmt.key_column
    try:
        line = 1
        for cells in reader:
            start, line = line, reader.line_num + 1
            if not any(cell.strip() for cell in cells):
                continue
            if positions is None:
                parsed.columns = tuple(c.strip() for c in cells)
                width = len(cells)
                positions = _map_header(cells, fmt, parsed)
                if parsed.file_problems:
                    return parsed
                continue
            parsed.rows_read += 1
            if len(cells) < width or any(c.strip() for c in cells[width:]):
                problems = [
                    Problem(
                        ProblemCode.CELL_COUNT,
                        _(
                            "列の数が見出しと合いません（見出しは%(expected)d列、この行は%(actual)d列）。"
                        )
                        % {"expected": width, "actual": len(cells)},
                        line=start,
                    )
                ]
            else:
                values, problems, foldings = _read_row(cells, positions, fmt, target, start)
                key = values.get(fmt.key)
                if not problems and key in seen_keys:
                    problems.append(
                        Problem(
                            ProblemCode.DUPLICATE_KEY,
                            _("「%(column)s」の「%(value)s」は%(other)d行目と重複しています。")
                            % {
                                "column": key_spec.name,
                                "value": cells[positions[key_spec.name]].strip(),
                                "other": seen_keys[key],
                            },
                            line=start,
                            column=key_spec.name,
                        )
                    )
                elif not problems:
                    seen_keys[key] = start
                    parsed.rows.append(ParsedRow(start, values))
                    for folding in foldings:
                        parsed.foldings[folding] = parsed.foldings.get(folding, 0) + 1
            if problems:
                parsed.row_problems.extend(problems)
                parsed.bad_lines.append(start)
    except csv.Error:
        parsed.file_problems.append(
            Problem(
                ProblemCode.CSV_SYNTAX,
                _('%(line)d行目: 引用符（"）の使い方が正しくないため、CSV として読めません。')
                % {"line": reader.line_num},
            )
        )
        return parsed
    if positions is None:
        parsed.file_problems.append(Problem(ProblemCode.EMPTY, _("ファイルが空です。")))
    return parsed
