"""Uploaded files: their type read from the content, their size bounded, their bytes stored.

A file's name and the Content-Type its browser sends are chosen by the sender, so neither decides
anything here: :func:`check_upload` reads the magic bytes (a PNG renamed ``申請書.pdf`` is a PNG, an
HTML page renamed ``.jpg`` is refused) and the name is kept only for display, cleaned by
:func:`safe_display_name`. A stored file is named by a random UUID with no extension, so that
nothing a resident typed reaches the file system.

The usual sequence for a Django ``UploadedFile``::

    checked = check_upload(upload.file, original_name=upload.name, accept=..., max_bytes=...)
    upload.file.seek(0)
    storage_name = store_upload(upload.file, municipality_code=municipality.code)
"""

import contextlib
import hashlib
import io
import re
import unicodedata
import uuid
from collections.abc import Collection
from dataclasses import dataclass
from enum import StrEnum
from typing import IO, TYPE_CHECKING, Final

from django.core.files import File
from django.core.files.storage import Storage
from django.utils import timezone
from django.utils.translation import gettext as _

from madoguchi.core.japanese import normalize_text
from madoguchi.core.storage import file_storage, local_path_check, storage_name_check

if TYPE_CHECKING:
    from _typeshed import WriteableBuffer

__all__ = [
    "DETECTABLE_CONTENT_TYPES",
    "CheckedUpload",
    "UploadErrorCode",
    "UploadRejected",
    "check_upload",
    "delete_stored",
    "open_stored",
    "safe_display_name",
    "sniff_content_type",
    "store_upload",
]


class UploadErrorCode(StrEnum):
    """Stable codes of :class:`UploadRejected`, for forms and API responses to key on."""

    EMPTY = "empty"
    TOO_LARGE = "too_large"
    TYPE_NOT_ALLOWED = "type_not_allowed"


# The name without "Error" reads as what happened to the upload, as FieldInvalid does.
class UploadRejected(ValueError):  # noqa: N818
    """An upload is refused; ``message`` is Japanese text to show next to the file field."""

    code: UploadErrorCode
    message: str

    def __init__(self, code: UploadErrorCode, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message

    def __repr__(self) -> str:
        return f"{type(self).__name__}({str(self.code)!r}, {self.message!r})"


@dataclass(frozen=True)
class CheckedUpload:
    """What :func:`check_upload` found: the sniffed type, the exact size and SHA-256 (hex).

    ``original_name`` is the sender's file name passed through :func:`safe_display_name`; it is
    for display only and says nothing about the content.
    """

    content_type: str
    size: int
    sha256: str
    original_name: str


# Display names in the order they are listed in messages, whatever order ``accept`` has.
_KIND_NAMES: Final = {
    "image/jpeg": "JPEG",
    "image/png": "PNG",
    "image/heic": "HEIC",
    "image/heif": "HEIF",
    "image/gif": "GIF",
    "image/webp": "WebP",
    "application/pdf": "PDF",
}
DETECTABLE_CONTENT_TYPES: Final = frozenset(_KIND_NAMES)
"""The types :func:`sniff_content_type` can return; ``accept`` may name these and ``image/*``."""

_ANY_IMAGE: Final = "image/*"

_CHUNK_SIZE: Final = 64 * 1024
_SNIFF_BYTES: Final = 1024
# Readers tolerate %PDF- anywhere in the first kilobyte, but a file that starts with something
# else is exactly what a polyglot (an HTML page that names itself a PDF) looks like, and every
# scanner, printer and office suite writes the header at offset 0: it is required there.
_PDF_HEADER: Final = b"%PDF-"
# The file ends with %%EOF, possibly followed by line ends or padding; readers look for it in the
# last kilobyte, and so does this check. An incremental update ends with its own %%EOF.
_PDF_TRAILER: Final = b"%%EOF"
_TAIL_BYTES: Final = 1024
# Markup a browser would run or render if it ever treated the file as HTML. In the first
# kilobyte (where a browser sniffing a document looks) any of them refuses a PDF; in the rest,
# which holds compressed binary streams, only the long ones are looked for, as a short tag such
# as "<html" occurs by chance in megabytes of random bytes while "<script" practically never does.
_HTML_MARKERS_HEAD: Final = (
    b"<!doctype",
    b"<html",
    b"<head",
    b"<body",
    b"<script",
    b"<iframe",
    b"<svg",
    b"<object",
    b"<embed",
)
_HTML_MARKERS_ANYWHERE: Final = (b"<!doctype html", b"<script", b"<iframe")
_MARKER_OVERLAP: Final = max(len(m) for m in _HTML_MARKERS_ANYWHERE) - 1
_MEGABYTE: Final = 1024 * 1024
_KILOBYTE: Final = 1024

_PNG_SIGNATURE: Final = b"\x89PNG\r\n\x1a\n"
# ISO BMFF brands: HEVC-coded images (what iPhones and most Android phones write) and the generic
# HEIF image and sequence brands, under which some Android phones list heic as compatible.
_HEIC_BRANDS: Final = frozenset({b"heic", b"heix", b"hevc", b"heim", b"heis"})
_HEIF_BRANDS: Final = frozenset({b"mif1", b"msf1"})


def _sniff_heif(head: bytes) -> str | None:
    """Read the ``ftyp`` box at the start of an ISO BMFF file (HEIC/HEIF photos)."""
    if head[4:8] != b"ftyp" or len(head) < 12:
        return None
    major = head[8:12]
    if major in _HEIC_BRANDS:
        return "image/heic"
    if major not in _HEIF_BRANDS:
        return None
    # The box is size, "ftyp", major brand, minor version, then 4-byte compatible brands.
    box_end = min(int.from_bytes(head[0:4], "big"), len(head))
    compatible = {head[offset : offset + 4] for offset in range(16, box_end - 3, 4)}
    return "image/heic" if compatible & _HEIC_BRANDS else "image/heif"


def sniff_content_type(head: bytes) -> str | None:
    """Return the MIME type that the first bytes of a file show, or None if none is known.

    Pass at least the first 1024 bytes (all of them for a shorter file). Every signature must
    start the file, ``%PDF-`` too, and a PDF must hold no HTML markup in those bytes; the PDF's
    trailer and the rest of its content are checked by :func:`check_upload`.
    """
    if head.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if head.startswith(_PNG_SIGNATURE):
        return "image/png"
    if head.startswith((b"GIF87a", b"GIF89a")):
        return "image/gif"
    if head.startswith(b"RIFF") and head[8:12] == b"WEBP":
        return "image/webp"
    heif = _sniff_heif(head)
    if heif is not None:
        return heif
    if head.startswith(_PDF_HEADER) and not _has_markup(head[:_SNIFF_BYTES], _HTML_MARKERS_HEAD):
        return "application/pdf"
    return None


def _has_markup(data: bytes, markers: tuple[bytes, ...]) -> bool:
    lowered = data.lower()
    return any(marker in lowered for marker in markers)


def _accepted_types(accept: Collection[str]) -> frozenset[str]:
    """Return ``accept`` lower-cased, refusing entries that no content can ever match.

    An entry such as ``text/csv`` would refuse every file silently; it is a definition error.
    """
    accepted = frozenset(entry.strip().lower() for entry in accept)
    unknown = accepted - DETECTABLE_CONTENT_TYPES - {_ANY_IMAGE}
    if not accepted or unknown:
        raise ValueError(
            f"accept must name types from {sorted(DETECTABLE_CONTENT_TYPES)} or {_ANY_IMAGE!r}; "
            f"got {sorted(accept)!r}"
        )
    return accepted


def _is_accepted(content_type: str | None, accepted: frozenset[str]) -> bool:
    if content_type is None:
        return False
    return content_type in accepted or (
        _ANY_IMAGE in accepted and content_type.startswith("image/")
    )


def _type_not_allowed(accepted: frozenset[str]) -> UploadRejected:
    kinds = [_("画像")] if _ANY_IMAGE in accepted else []
    kinds += [
        name
        for content_type, name in _KIND_NAMES.items()
        if content_type in accepted
        and not (_ANY_IMAGE in accepted and content_type.startswith("image/"))
    ]
    if len(kinds) == 1:
        message = _("このファイルは受け付けられません。%(kinds)s を選んでください。")
    else:
        message = _("このファイルは受け付けられません。%(kinds)s のいずれかを選んでください。")
    return UploadRejected(UploadErrorCode.TYPE_NOT_ALLOWED, message % {"kinds": "・".join(kinds)})


def _format_limit(max_bytes: int) -> str:
    """Return the limit as "5MB", "1.5MB" or "500KB", rounded down so that a file of the size
    shown is always accepted."""
    if max_bytes >= _MEGABYTE:
        tenths = max_bytes * 10 // _MEGABYTE
        return f"{tenths // 10}MB" if tenths % 10 == 0 else f"{tenths // 10}.{tenths % 10}MB"
    if max_bytes >= _KILOBYTE:
        return f"{max_bytes // _KILOBYTE}KB"
    return f"{max_bytes}B"


def check_upload(
    stream: IO[bytes], *, original_name: str, accept: Collection[str], max_bytes: int
) -> CheckedUpload:
    """Read ``stream`` to its end and return its sniffed type, size and SHA-256.

    ``accept`` holds MIME types from :data:`DETECTABLE_CONTENT_TYPES`, or ``image/*`` for any of
    the image types; anything else raises ValueError. The name is never consulted for the type.

    At most ``max_bytes + 1`` bytes are read, so an oversized upload costs no more than that.
    A type that is not accepted is refused as soon as the first 1024 bytes are in, before the
    size is known: telling a resident to shrink an HTML page would not help.

    Raises :class:`UploadRejected` with code ``empty``, ``too_large`` or ``type_not_allowed``.
    The stream is left at the point where reading stopped; seek back before storing it.
    """
    if max_bytes < 1:
        raise ValueError(f"max_bytes must be positive, got {max_bytes}")
    accepted = _accepted_types(accept)
    digest = hashlib.sha256()
    head = b""
    content_type: str | None = None
    sniffed = False
    size = 0
    # The last bytes read, for the PDF trailer and for markup split across two reads.
    tail = b""
    markup = False
    # Each read asks for no more than one byte past the limit, whatever the chunk size.
    while chunk := stream.read(min(_CHUNK_SIZE, max_bytes + 1 - size)):
        size += len(chunk)
        markup = markup or _has_markup(tail[-_MARKER_OVERLAP:] + chunk, _HTML_MARKERS_ANYWHERE)
        tail = (tail + chunk)[-_TAIL_BYTES:]
        if size > max_bytes:
            raise UploadRejected(
                UploadErrorCode.TOO_LARGE,
                _("ファイルが大きすぎます。%(limit)s以下にしてください。")
                % {"limit": _format_limit(max_bytes)},
            )
        digest.update(chunk)
        if not sniffed and len(head) < _SNIFF_BYTES:
            head += chunk[: _SNIFF_BYTES - len(head)]
        if not sniffed and len(head) == _SNIFF_BYTES:
            content_type, sniffed = sniff_content_type(head), True
            if not _is_accepted(content_type, accepted):
                raise _type_not_allowed(accepted)
    if size == 0:
        raise UploadRejected(
            UploadErrorCode.EMPTY, _("ファイルが空です。内容のあるファイルを選んでください。")
        )
    if not sniffed:
        content_type = sniff_content_type(head)
    if content_type == "application/pdf" and (markup or _PDF_TRAILER not in tail):
        content_type = None
    if content_type is None or not _is_accepted(content_type, accepted):
        raise _type_not_allowed(accepted)
    return CheckedUpload(
        content_type=content_type,
        size=size,
        sha256=digest.hexdigest(),
        original_name=safe_display_name(original_name),
    )


_MAX_NAME_LENGTH: Final = 100
_MAX_EXTENSION_LENGTH: Final = 10
# Full-width ／ and ＼ too: normalize_text would turn them into path separators.
_PATH_SEPARATORS: Final = re.compile(r"[/\\\uff0f\uff3c]")
# Bidirectional overrides make "gpj.exe" display as "exe.jpg"; they have no place in a file name.
_BIDI_CONTROLS: Final = frozenset(
    "\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"
)
# Cc: C0/C1 controls. Cs: lone surrogates, which a name decoded with surrogateescape can carry
# and which no database or response can encode.
_REMOVED_CATEGORIES: Final = frozenset({"Cc", "Cs"})


def safe_display_name(name: str) -> str:
    """Return a file name that is safe to show and to put in a Content-Disposition header.

    Only the base name is kept (paths with ``/`` or ``\\``, as old browsers send, are cut),
    control and bidirectional-override characters are removed, and the rest is normalised with
    :func:`~madoguchi.core.japanese.normalize_text`. Names longer than 100 characters are
    shortened, keeping an extension of up to 10 characters. "file" stands in for an empty name.
    """
    text = "".join(
        char
        for char in name
        if unicodedata.category(char) not in _REMOVED_CATEGORIES and char not in _BIDI_CONTROLS
    )
    text = normalize_text(_PATH_SEPARATORS.split(text)[-1])
    if text in {"", ".", ".."}:
        return "file"
    if len(text) <= _MAX_NAME_LENGTH:
        return text
    stem, dot, extension = text.rpartition(".")
    if dot and stem and 0 < len(extension) <= _MAX_EXTENSION_LENGTH:
        suffix = dot + extension
        text = text[: _MAX_NAME_LENGTH - len(suffix)].rstrip() + suffix
    else:
        text = text[:_MAX_NAME_LENGTH]
    # Cutting can put a dash at the end of a kana word (カ-1 -> カ-), which normalize_text reads
    # as ー; normalising again, which never lengthens, keeps a second call from changing the name.
    return normalize_text(text)


_MUNICIPALITY_CODE: Final = re.compile(r"[0-9]{6}")


def store_upload(
    stream: IO[bytes], *, municipality_code: str, storage: Storage | None = None
) -> str:
    """Write the rest of ``stream`` to a new file in ``storage`` and return its name.

    ``storage`` is the storage of uploaded files (``STORAGES["default"]``) unless given. The
    name is ``attachments/<municipality_code>/<yyyy>/<mm>/<uuid4 hex>`` (year and month of today
    in TIME_ZONE), always with ``/``; pass it to :func:`open_stored`. On a local folder the file
    is created with mode 0o600 and its folders with 0o700 (:class:`PrivateFileSystemStorage`).
    ``municipality_code`` is the 6-digit 全国地方公共団体コード. Nothing is checked here: call
    :func:`check_upload` first. A failed write leaves no file behind.
    """
    if not _MUNICIPALITY_CODE.fullmatch(municipality_code):
        raise ValueError(f"municipality_code must be 6 digits, got {municipality_code!r}")
    storage = storage or file_storage()
    today = timezone.localdate()
    month = (f"{today.year:04d}", f"{today.month:02d}")
    name = "/".join(("attachments", municipality_code, *month, uuid.uuid4().hex))
    try:
        saved = storage.save(name, File(io.BufferedReader(_Chunked(stream)), name=name))
    except BaseException:
        with contextlib.suppress(Exception):
            storage.delete(name)
        raise
    if saved != name:  # a storage that renames would break the promise of random names
        storage.delete(saved)
        raise RuntimeError(f"the storage renamed {name!r} to {saved!r}")
    return saved


class _Chunked(io.RawIOBase):
    """``stream`` from its current position, for storages that read a File in chunks."""

    def __init__(self, stream: IO[bytes]) -> None:
        self._stream = stream

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: "WriteableBuffer") -> int:
        view = memoryview(buffer).cast("B")
        chunk = self._stream.read(min(len(view), _CHUNK_SIZE))
        view[: len(chunk)] = chunk
        return len(chunk)


def open_stored(storage_name: str, *, storage: Storage | None = None) -> File[bytes]:
    """Open a file written by :func:`store_upload` for reading (binary).

    Raises ValueError for a name that is not a storage name (absolute, ``..``, a backslash, a
    NUL, ...) or that resolves through a symlink outside a local storage's folder: storage
    names come from the database, and a row altered by hand must not open /etc/passwd.
    Raises FileNotFoundError when no such file is stored.
    """
    storage = storage or file_storage()
    storage_name_check(storage_name)
    local_path_check(storage, storage_name)
    return storage.open(storage_name, "rb")


def delete_stored(storage_name: str, *, storage: Storage | None = None) -> bool:
    """Delete a stored file; False when there was none (or the name is not a storage name).

    A name that is refused by :func:`open_stored` deletes nothing.
    """
    storage = storage or file_storage()
    try:
        storage_name_check(storage_name)
        local_path_check(storage, storage_name)
    except ValueError:
        return False
    if not storage.exists(storage_name):
        return False
    storage.delete(storage_name)
    return True
