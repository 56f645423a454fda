"""The report an import returns: what was read, what was wrong, what was stored."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from madoguchi.opendata.errors import Problem

__all__ = ["Folding", "ImportMode", "ImportReport"]


class ImportMode(StrEnum):
    """All-or-nothing refuses a file with any bad row; good-rows stores the rest."""

    ALL_OR_NOTHING = "all"
    GOOD_ROWS = "good_rows"

    @property
    def label(self) -> str:
        return str(_MODE_LABELS[self])


_MODE_LABELS = {
    ImportMode.ALL_OR_NOTHING: gettext_lazy("すべての行が正しいときだけ取り込む"),
    ImportMode.GOOD_ROWS: gettext_lazy("問題のない行だけ取り込む"),
}


@dataclass(frozen=True, slots=True)
class Folding:
    """Rows whose ``column`` held ``original``, stored as ``stored`` ("" for unknown)."""

    column: str
    original: str
    stored: str
    count: int

    @property
    def stored_label(self) -> str:
        return self.stored or _("空欄（不明）")

    def __str__(self) -> str:
        if self.stored:
            return _("読み替えた値: %(column)s「%(original)s」→「%(stored)s」%(count)d件") % {
                "column": self.column,
                "original": self.original,
                "stored": self.stored,
                "count": self.count,
            }
        return _("読み替えた値: %(column)s「%(original)s」→ 空欄（不明）%(count)d件") % {
            "column": self.column,
            "original": self.original,
            "count": self.count,
        }


@dataclass(frozen=True, slots=True)
class ImportReport:
    dataset: str
    mode: ImportMode
    encoding: str
    columns: tuple[str, ...]
    renamed_columns: dict[str, str]
    unknown_columns: tuple[str, ...]
    ignored_columns: tuple[str, ...]
    file_problems: tuple[Problem, ...]
    row_problems: tuple[Problem, ...]
    rows_read: int
    skipped_lines: tuple[int, ...]  # bad rows; skipped in good-rows mode
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    imported: bool = False  # False: the file was refused and nothing was stored
    # Values read as another national value or as unknown, over the rows read without problems.
    foldings: tuple[Folding, ...] = ()

    @property
    def problems(self) -> tuple[Problem, ...]:
        return self.file_problems + self.row_problems

    @property
    def changed(self) -> bool:
        return self.created + self.updated > 0

    @property
    def summary(self) -> str:
        """One Japanese sentence saying what happened."""
        if self.file_problems:
            return _("取り込みませんでした。ファイル全体の問題を直してください。")
        if not self.imported:
            return _(
                "取り込みませんでした。問題のある行が%(bad)d行あります。すべて直すか、"
                "「問題のない行だけ取り込む」を選んでください。"
            ) % {"bad": len(self.skipped_lines)}
        text = _(
            "取り込みました: 追加 %(created)d 件、更新 %(updated)d 件、変更なし %(unchanged)d 件。"
        ) % {"created": self.created, "updated": self.updated, "unchanged": self.unchanged}
        if self.skipped_lines:
            text += _("問題のある %(bad)d 行（%(lines)s行目）は取り込んでいません。") % {
                "bad": len(self.skipped_lines),
                "lines": "、".join(str(n) for n in self.skipped_lines),
            }
        return text

    def lines(self) -> list[str]:
        """The whole report as lines of text (for the command line)."""
        out = [self.summary]
        if self.encoding:
            out.append(_("文字コード: %(encoding)s") % {"encoding": self.encoding})
        if self.renamed_columns:
            pairs = "、".join(f"{a} → {b}" for a, b in self.renamed_columns.items())
            out.append(_("別名として読んだ列: %(columns)s") % {"columns": pairs})
        if self.ignored_columns:
            out.append(
                _("読み飛ばした列（国の項目にないため保存しません）: %(columns)s")
                % {"columns": "、".join(self.ignored_columns)}
            )
        if self.unknown_columns:
            out.append(
                _("知らない列（読み込んでいません）: %(columns)s")
                % {"columns": "、".join(self.unknown_columns)}
            )
        out.extend(str(f) for f in self.foldings)
        out.extend(str(p) for p in self.problems)
        return out

    def as_dict(self) -> dict[str, Any]:
        """A JSON-friendly form, for the audit log and machine readers."""
        return {
            "dataset": self.dataset,
            "mode": str(self.mode),
            "encoding": self.encoding,
            "imported": self.imported,
            "rows_read": self.rows_read,
            "created": self.created,
            "updated": self.updated,
            "unchanged": self.unchanged,
            "skipped_lines": list(self.skipped_lines),
            "unknown_columns": list(self.unknown_columns),
            "ignored_columns": list(self.ignored_columns),
            "foldings": [
                {"column": f.column, "original": f.original, "stored": f.stored, "count": f.count}
                for f in self.foldings
            ],
            "problems": [
                {"line": p.line, "column": p.column, "code": str(p.code), "message": p.message}
                for p in self.problems
            ],
        }
