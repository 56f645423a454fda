"""File fields: a reference to an upload, checked against the accepted types and a size limit."""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from typing import TYPE_CHECKING, Final

from django.utils.translation import gettext as _

from madoguchi.core.templatetags.madoguchi import html_interpolate, typed_ja
from madoguchi.procedures.fieldtypes.base import FieldType
from madoguchi.procedures.fieldtypes.errors import DefinitionError, FieldErrorCode, FieldInvalid

if TYPE_CHECKING:
    from madoguchi.procedures.fieldtypes.base import JsonSchema
    from madoguchi.procedures.fieldtypes.spec import FieldSpec


_DEFAULT_MAX_BYTES: Final = 10 * 1024 * 1024
_MEGABYTE: Final = 1024 * 1024
_KILOBYTE: Final = 1024
_MIME_NAMES: Final = {
    "application/pdf": "PDF",
    "image/jpeg": "JPEG",
    "image/png": "PNG",
    "image/heic": "HEIC",
    "image/gif": "GIF",
    "image/webp": "WebP",
    "image/tiff": "TIFF",
    "text/csv": "CSV",
}


def _format_bytes(size: int, *, round_up: bool) -> str:
    """Return ``size`` as "1.5 MB" or "200 KB"; the rounding direction avoids a size over the
    limit being shown as equal to it."""
    rounding = math.ceil if round_up else math.floor
    if size >= _MEGABYTE:
        tenths = rounding(size * 10 / _MEGABYTE)
        return f"{tenths // 10} MB" if tenths % 10 == 0 else f"{tenths / 10:.1f} MB"
    if size >= _KILOBYTE:
        return f"{rounding(size / _KILOBYTE)} KB"
    return f"{size} B"


_MIME_PATTERN: Final = re.compile(r"[a-z0-9][a-z0-9!#$&^_.+-]*/(?:\*|[a-z0-9][a-z0-9!#$&^_.+-]*)")


def _mime_matches(content_type: str, pattern: str) -> bool:
    if pattern.endswith("/*"):
        return content_type.startswith(pattern[:-1])
    return content_type == pattern


def _mime_name(pattern: str) -> str:
    if pattern == "image/*":
        return _("画像")
    return _MIME_NAMES.get(pattern, pattern)


class FileType(FieldType):
    """A reference to an uploaded file, ``{id, content_type, size, name}``.

    The upload and its content sniffing happen elsewhere; this checks the declared type against
    ``accept`` (``image/*`` allowed) and the size against ``max_bytes`` (10 MiB by default).
    """

    name = "file"
    option_names = frozenset({"accept", "max_bytes"})
    required_options = frozenset({"accept"})

    def required_error(self, spec: FieldSpec) -> FieldInvalid:
        return FieldInvalid(
            FieldErrorCode.REQUIRED,
            _("%(label)sのファイルを選択してください。") % {"label": spec.label},
        )

    def check_definition(self, spec: FieldSpec, where: str) -> None:
        for pattern in spec.options.accept:
            if not _MIME_PATTERN.fullmatch(pattern):
                raise DefinitionError(
                    f"{where}: accept entry {pattern!r} is not a MIME type such as "
                    "'application/pdf' or 'image/*'",
                    path=("accept",),
                )

    def clean_value(self, value: object, spec: FieldSpec) -> object:
        reference = value if isinstance(value, Mapping) else {}
        file_id, content_type = reference.get("id"), reference.get("content_type")
        size, name = reference.get("size"), reference.get("name")
        if not (
            isinstance(file_id, str)
            and file_id
            and isinstance(content_type, str)
            and isinstance(size, int)
            and not isinstance(size, bool)
            and size >= 0
            and isinstance(name, str)
        ):
            raise FieldInvalid(
                FieldErrorCode.FILE_REFERENCE,
                _("%(label)sのファイルをもう一度選択してください。") % {"label": spec.label},
            )
        content_type = content_type.split(";", 1)[0].strip().lower()
        accept = spec.options.accept
        if not any(_mime_matches(content_type, pattern) for pattern in accept):
            raise FieldInvalid(
                FieldErrorCode.FILE_TYPE,
                _("%(label)sには%(types)sのファイルを選択してください。")
                % {"label": spec.label, "types": "、".join(_mime_name(p) for p in accept)},
            )
        limit = spec.options.max_bytes or _DEFAULT_MAX_BYTES
        if size > limit:
            raise FieldInvalid(
                FieldErrorCode.FILE_TOO_LARGE,
                _("%(label)sのファイルは%(max)s以下にしてください（選択したファイルは%(size)s）。")
                % {
                    "label": spec.label,
                    "max": _format_bytes(limit, round_up=False),
                    "size": _format_bytes(size, round_up=True),
                },
            )
        return {"id": file_id, "content_type": content_type, "size": size, "name": name}

    def display_value(self, value: object, spec: FieldSpec) -> str:
        if not isinstance(value, Mapping):
            return str(value)
        size = value.get("size")
        size_text = _format_bytes(size, round_up=True) if isinstance(size, int) else ""
        kind = _MIME_NAMES.get(str(value.get("content_type")), str(value.get("content_type")))
        return _("%(name)s（%(kind)s、%(size)s）") % {
            "name": value.get("name"),
            "kind": kind,
            "size": size_text,
        }

    def display_html(self, value: object, spec: FieldSpec) -> str:
        if not isinstance(value, Mapping):
            return super().display_html(value, spec)
        size = value.get("size")
        size_text = _format_bytes(size, round_up=True) if isinstance(size, int) else ""
        kind = _MIME_NAMES.get(str(value.get("content_type")), str(value.get("content_type")))
        return html_interpolate(
            _("%(name)s（%(kind)s、%(size)s）"),
            name=typed_ja(value.get("name")),
            kind=kind,
            size=size_text,
        )

    def value_schema(self, spec: FieldSpec) -> JsonSchema:
        accept = spec.options.accept
        content_type: JsonSchema = {"type": "string"}
        if not any(pattern.endswith("/*") for pattern in accept):
            content_type["enum"] = list(accept)
        return {
            "type": "object",
            "properties": {
                "id": {"type": "string", "minLength": 1},
                "content_type": content_type,
                "size": {
                    "type": "integer",
                    "minimum": 0,
                    "maximum": spec.options.max_bytes or _DEFAULT_MAX_BYTES,
                },
                "name": {"type": "string", "minLength": 0},  # display only; may be empty
            },
            "required": ["id", "content_type", "size", "name"],
        }
