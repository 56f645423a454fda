"""Tests for madoguchi.core.uploads."""

from __future__ import annotations

import datetime
import hashlib
import io
import os
import re
import stat
import unicodedata
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO

import pytest
from hypothesis import given
from hypothesis import strategies as st

from madoguchi.core.storage import PrivateFileSystemStorage
from madoguchi.core.uploads import (
    DETECTABLE_CONTENT_TYPES,
    CheckedUpload,
    UploadErrorCode,
    UploadRejected,
    check_upload,
    delete_stored,
    open_stored,
    safe_display_name,
    sniff_content_type,
    store_upload,
)

if TYPE_CHECKING:
    from _typeshed import WriteableBuffer

# Real files, small enough to read: each of the images decodes to one pixel.
PNG = (
    b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x00\x00\x00\x00"
    b":~\x9bU\x00\x00\x00\nIDATx\x9cc\xf8\x0f\x00\x01\x01\x01\x00\xb18\xf6\x14\x00\x00\x00\x00"
    b"IEND\xaeB`\x82"
)
PNG_SHA256 = "d44c0303173ecdb8ba72a7ab688f020583b31865537e2f9ab57e56aeec687807"
JPEG = (
    b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00"
    + b"\xff\xdb\x00C\x00"
    + b"\x01" * 64
    + b"\xff\xc0\x00\x0b\x08\x00\x01\x00\x01\x01\x01\x11\x00"
    + b"\xff\xc4\x00\x14\x00\x01" + b"\x00" * 16
    + b"\xff\xc4\x00\x14\x10\x01" + b"\x00" * 16
    + b"\xff\xda\x00\x08\x01\x01\x00\x00?\x00"
    + b"?\xff\xd9"
)  # fmt: skip
JPEG_SHA256 = "eabd11d3fd11bb2469661b827ec4e75724bccbb586e63f9c457b2707d26891b3"
GIF = (
    b"GIF89a\x01\x00\x01\x00\x80\x00\x00\x00\x00\x00\xff\xff\xff!\xf9\x04\x01\x00\x00\x00\x00"
    b",\x00\x00\x00\x00\x01\x00\x01\x00\x00\x02\x02D\x01\x00;"
)
GIF87 = b"GIF87a" + GIF[6:]
WEBP = (
    b"RIFF\x1e\x00\x00\x00WEBPVP8L\x11\x00\x00\x00/\x00\x00\x00\x00\x07\xd0\xff\xfe\xf7\xbf\xff"
    b"\x81\x88\xe8\x7f\x00\x00"
)
# The start of an iPhone photo: an ftyp box (size 0x18) with major brand heic, then a meta box.
HEIC = b"\x00\x00\x00\x18ftypheic\x00\x00\x00\x00mif1heic" + b"\x00\x00\x00\x08meta"
# Some Android phones write the generic brand first and list heic as compatible.
HEIC_MIF1 = b"\x00\x00\x00\x1cftypmif1\x00\x00\x00\x00mif1heicmiaf" + b"\x00\x00\x00\x08meta"
HEIF = b"\x00\x00\x00\x18ftypmif1\x00\x00\x00\x00mif1miaf" + b"\x00\x00\x00\x08meta"
AVIF = b"\x00\x00\x00\x1cftypavif\x00\x00\x00\x00avifmif1miaf" + b"\x00\x00\x00\x08meta"
HTML = b"<!DOCTYPE html>\n<html><body><script>alert(document.cookie)</script></body></html>\n"
EXE = b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff\x00\x00" + b"\x00" * 48


def minimal_pdf(prefix: bytes = b"") -> bytes:
    """Return a one-page PDF with a correct cross-reference table, after ``prefix``."""
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] >>",
    ]
    out = prefix + b"%PDF-1.7\n"
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n%s\nendobj\n" % (number, body)
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (
        len(objects) + 1,
        xref,
    )
    return out


PDF = minimal_pdf()
MB = 1024 * 1024
IMAGES_AND_PDF = ("image/jpeg", "image/png", "application/pdf")
TYPE_MESSAGE = "このファイルは受け付けられません。JPEG・PNG・PDF のいずれかを選んでください。"
EMPTY_MESSAGE = "ファイルが空です。内容のあるファイルを選んでください。"


def check(
    data: bytes,
    *,
    name: str = "file.bin",
    accept: tuple[str, ...] | set[str] = IMAGES_AND_PDF,
    max_bytes: int = 5 * MB,
) -> CheckedUpload:
    return check_upload(io.BytesIO(data), original_name=name, accept=accept, max_bytes=max_bytes)


def rejection(
    data: bytes,
    *,
    name: str = "file.bin",
    accept: tuple[str, ...] | set[str] = IMAGES_AND_PDF,
    max_bytes: int = 5 * MB,
) -> UploadRejected:
    with pytest.raises(UploadRejected) as caught:
        check(data, name=name, accept=accept, max_bytes=max_bytes)
    return caught.value


class CountingStream(io.RawIOBase):
    """A stream of ``total`` bytes, ``prefix`` then zeros, that counts what is read from it."""

    def __init__(self, prefix: bytes, total: int) -> None:
        self.prefix = prefix
        self.total = total
        self.served = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: WriteableBuffer) -> int:
        view = memoryview(buffer).cast("B")
        count = min(len(view), self.total - self.served)
        chunk = self.prefix[self.served : self.served + count]
        view[: len(chunk)] = chunk
        view[len(chunk) : count] = bytes(count - len(chunk))
        self.served += count
        return count


def binary(stream: io.RawIOBase) -> BinaryIO:
    """Return ``stream`` typed as the BinaryIO it behaves as: typeshed does not count a
    RawIOBase as one, and these tests need raw streams to count every byte read."""
    return stream  # type: ignore[return-value]


# sniff_content_type ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (JPEG, "image/jpeg"),
        (PNG, "image/png"),
        (GIF, "image/gif"),
        (GIF87, "image/gif"),
        (WEBP, "image/webp"),
        (HEIC, "image/heic"),
        (HEIC_MIF1, "image/heic"),
        (HEIF, "image/heif"),
        (PDF, "application/pdf"),
        (minimal_pdf(b"\x00" * 1000), None),  # %PDF- must start the file
        (minimal_pdf(b"\n"), None),
        (HTML, None),
        (EXE, None),
        (AVIF, None),
        (b"", None),
        (b"\xff\xd8", None),  # a JPEG needs three bytes
        (PNG[:7], None),  # and a PNG all eight of its signature
        (b"GIF88a" + GIF[6:], None),
        (b"RIFF\x1e\x00\x00\x00WAVEfmt ", None),  # a RIFF file that is audio
        (minimal_pdf(b"\x00" * 1020), None),  # %PDF- ends after byte 1024
    ],
)
def test_sniff_content_type_reads_the_magic_bytes(data: bytes, expected: str | None) -> None:
    assert sniff_content_type(data) == expected


@pytest.mark.parametrize("brand", [b"heic", b"heix", b"hevc", b"heim", b"heis"])
def test_every_heic_brand_is_heic(brand: bytes) -> None:
    assert sniff_content_type(b"\x00\x00\x00\x10ftyp" + brand + b"\x00\x00\x00\x00") == "image/heic"


@pytest.mark.parametrize("brand", [b"mif1", b"msf1"])
def test_the_generic_heif_brands_are_heif(brand: bytes) -> None:
    assert sniff_content_type(b"\x00\x00\x00\x10ftyp" + brand + b"\x00\x00\x00\x00") == "image/heif"


def test_a_signature_at_the_start_wins_over_pdf_further_in() -> None:
    assert sniff_content_type(PNG + b"%PDF-1.7") == "image/png"


def test_detectable_content_types() -> None:
    assert sorted(DETECTABLE_CONTENT_TYPES) == [
        "application/pdf",
        "image/gif",
        "image/heic",
        "image/heif",
        "image/jpeg",
        "image/png",
        "image/webp",
    ]


# check_upload ----------------------------------------------------------------------------------


def test_check_upload_returns_type_size_hash_and_clean_name() -> None:
    assert check(PNG, name="C:\\fakepath\\ｼｬｼﾝ.png") == CheckedUpload(
        content_type="image/png", size=67, sha256=PNG_SHA256, original_name="シャシン.png"
    )
    assert check(JPEG, name="photo.jpg") == CheckedUpload(
        content_type="image/jpeg", size=159, sha256=JPEG_SHA256, original_name="photo.jpg"
    )


def test_the_hash_covers_every_chunk() -> None:
    """A file of several read chunks hashes to the digest of all of its bytes."""
    data = JPEG + bytes(range(256)) * 1000
    checked = check(data, max_bytes=len(data))
    assert checked.size == len(data) == 256_000 + len(JPEG)
    assert checked.sha256 == hashlib.sha256(data).hexdigest()


@pytest.mark.parametrize(
    ("data", "accept", "expected"),
    [
        (GIF, ("image/gif",), "image/gif"),
        (WEBP, ("image/webp",), "image/webp"),
        (HEIC, ("image/heic",), "image/heic"),
        (HEIF, ("image/heif",), "image/heif"),
        (HEIC, ("image/*",), "image/heic"),
        (WEBP, ("image/*", "application/pdf"), "image/webp"),
        (PDF, ("IMAGE/JPEG", " application/pdf "), "application/pdf"),
    ],
)
def test_accepted_types(data: bytes, accept: tuple[str, ...], expected: str) -> None:
    assert check(data, accept=accept).content_type == expected


@pytest.mark.parametrize(
    ("data", "name", "expected"),
    [
        (PNG, "申請書.pdf", "image/png"),
        (PDF, "scan.jpg", "application/pdf"),
        (JPEG, "photo.png", "image/jpeg"),
    ],
)
def test_the_name_never_decides_the_type(data: bytes, name: str, expected: str) -> None:
    assert check(data, name=name).content_type == expected


@pytest.mark.parametrize(
    ("data", "name", "accept"),
    [
        (HTML, "photo.jpg", IMAGES_AND_PDF),
        (EXE, "申請書.pdf", IMAGES_AND_PDF),
        (PNG, "申請書.pdf", ("application/pdf",)),
        (HEIC, "IMG_0001.jpg", IMAGES_AND_PDF),
        (HEIF, "IMG_0001.heic", ("image/heic",)),
        (b"%PDF", "short.pdf", ("application/pdf",)),
        (minimal_pdf(b"garbage before the header\n"), "doc.pdf", ("application/pdf",)),
        (b"\x00" * 2000, "zeros.png", ("image/*",)),
    ],
)
def test_content_not_accepted_is_refused(data: bytes, name: str, accept: tuple[str, ...]) -> None:
    error = rejection(data, name=name, accept=accept)
    assert error.code is UploadErrorCode.TYPE_NOT_ALLOWED


@pytest.mark.parametrize(
    ("accept", "message"),
    [
        (IMAGES_AND_PDF, TYPE_MESSAGE),
        ({"application/pdf", "image/png", "image/jpeg"}, TYPE_MESSAGE),
        (("application/pdf",), "このファイルは受け付けられません。PDF を選んでください。"),
        (
            ("image/heic", "image/jpeg", "image/webp"),
            "このファイルは受け付けられません。JPEG・HEIC・WebP のいずれかを選んでください。",
        ),
        (
            ("application/pdf", "image/*", "image/png"),
            "このファイルは受け付けられません。画像・PDF のいずれかを選んでください。",
        ),
        (("image/*",), "このファイルは受け付けられません。画像 を選んでください。"),
    ],
)
def test_the_type_message_lists_the_accepted_kinds(
    accept: tuple[str, ...] | set[str], message: str
) -> None:
    error = rejection(HTML, name="a.html", accept=accept)
    assert (error.code, error.message) == (UploadErrorCode.TYPE_NOT_ALLOWED, message)
    assert str(error) == message


def test_an_empty_file_is_refused() -> None:
    error = rejection(b"", name="empty.pdf")
    assert (error.code, error.message) == (UploadErrorCode.EMPTY, EMPTY_MESSAGE)


@pytest.mark.parametrize(
    ("max_bytes", "limit"),
    [
        (5 * MB, "5MB"),
        (10 * MB + 1, "10MB"),
        (3 * MB // 2, "1.5MB"),
        (2 * MB - 1, "1.9MB"),  # rounded down: a 2MB file would be refused
        (500 * 1024, "500KB"),
        (60, "60B"),
    ],
)
def test_the_size_message_names_the_limit(max_bytes: int, limit: str) -> None:
    data = PNG + b"\x00" * max_bytes
    error = rejection(data, max_bytes=max_bytes)
    assert error.code is UploadErrorCode.TOO_LARGE
    assert error.message == f"ファイルが大きすぎます。{limit}以下にしてください。"


@pytest.mark.parametrize("size", [67, 200_000])
def test_a_file_of_exactly_max_bytes_is_accepted_and_one_more_byte_is_refused(size: int) -> None:
    data = PNG + b"\x00" * (size - len(PNG))
    assert check(data, max_bytes=size).size == size
    assert rejection(data + b"\x00", max_bytes=size).code is UploadErrorCode.TOO_LARGE
    assert rejection(data, max_bytes=size - 1).code is UploadErrorCode.TOO_LARGE


def test_a_huge_upload_is_read_no_further_than_one_byte_past_the_limit() -> None:
    stream = CountingStream(PNG, total=100 * MB)
    with pytest.raises(UploadRejected) as caught:
        check_upload(
            binary(stream), original_name="huge.png", accept=("image/png",), max_bytes=5 * MB
        )
    assert caught.value.code is UploadErrorCode.TOO_LARGE
    assert stream.served == 5 * MB + 1


def test_a_buffered_huge_upload_is_read_no_further_than_a_buffer_past_the_limit() -> None:
    raw = CountingStream(PNG, total=100 * MB)
    stream = io.BufferedReader(raw)
    with pytest.raises(UploadRejected):
        check_upload(stream, original_name="huge.png", accept=("image/png",), max_bytes=5 * MB)
    assert raw.served <= 5 * MB + 1 + io.DEFAULT_BUFFER_SIZE


def test_a_huge_upload_of_the_wrong_type_is_refused_after_its_first_chunk() -> None:
    stream = CountingStream(EXE, total=100 * MB)
    with pytest.raises(UploadRejected) as caught:
        check_upload(
            binary(stream), original_name="setup.pdf", accept=IMAGES_AND_PDF, max_bytes=50 * MB
        )
    assert caught.value.code is UploadErrorCode.TYPE_NOT_ALLOWED
    assert stream.served <= 64 * 1024


# An HTML page that names itself a PDF in a comment: before, any file with %PDF- in its first
# kilobyte was stored as application/pdf.
HTML_WITH_PDF_MARKER = b"<html><body><script>alert(document.cookie)</script><!-- %PDF-1.7 -->"
PDF_WITH_SCRIPT = minimal_pdf().replace(
    b"endobj\n", b"endobj\n<script>alert(document.cookie)</script>\n", 1
)


@pytest.mark.parametrize(
    "data",
    [
        HTML_WITH_PDF_MARKER,
        HTML_WITH_PDF_MARKER + b" " * 2000 + b"%%EOF\n",
        b"<!DOCTYPE html>\n%PDF-1.4\n" + b"x" * 2000 + b"\n%%EOF\n",
        b"%PDF-1.4\n<html><body>hello</body></html>\n%%EOF\n",
        PDF_WITH_SCRIPT,
        PDF_WITH_SCRIPT.replace(b"<script>", b"<SCRIPT>"),
        # A script far beyond the first kilobyte is found too.
        minimal_pdf().replace(b"endobj\n", b"endobj\n" + b"%" * 100_000 + b"<Script src=x>", 1),
        # No %%EOF trailer near the end: not a PDF, or a truncated one.
        minimal_pdf().replace(b"%%EOF", b"%%EOX"),
        minimal_pdf() + b"\n" + b"x" * 2000,
    ],
)
def test_html_or_a_pdf_without_its_trailer_is_refused_as_pdf(data: bytes) -> None:
    assert rejection(data, name="申請書.pdf").code is UploadErrorCode.TYPE_NOT_ALLOWED


@pytest.mark.parametrize(
    "data",
    [
        PDF,
        PDF + b"\r\n",
        PDF + b"\n" * 500,  # some writers pad after the trailer
        minimal_pdf() + minimal_pdf()[9:],  # an incremental update ends with its own %%EOF
    ],
)
def test_a_pdf_starting_with_its_header_and_ending_with_its_trailer_is_a_pdf(data: bytes) -> None:
    assert check(data, name="申請書.pdf").content_type == "application/pdf"


def test_short_reads_still_sniff_the_first_kilobyte() -> None:
    """A stream that hands out one byte at a time is sniffed on its first 1024 bytes."""

    class OneByteAtATime(CountingStream):
        def readinto(self, buffer: WriteableBuffer) -> int:
            return super().readinto(memoryview(buffer).cast("B")[:1])

    data = minimal_pdf().replace(b"endobj\n", b"endobj\n" + b"%" * 900 + b"\n", 1)
    stream = OneByteAtATime(data, total=len(data))
    checked = check_upload(
        binary(stream), original_name="a", accept=("application/pdf",), max_bytes=MB
    )
    assert (checked.content_type, checked.size) == ("application/pdf", len(data))
    assert checked.sha256 == hashlib.sha256(data).hexdigest()


@pytest.mark.parametrize("accept", [(), ("text/csv",), ("image/png", "*/*"), ("image",)])
def test_accept_entries_that_no_content_can_match_are_a_programming_error(
    accept: tuple[str, ...],
) -> None:
    with pytest.raises(ValueError, match="accept must name types"):
        check(PNG, accept=accept)


@pytest.mark.parametrize("max_bytes", [0, -1])
def test_max_bytes_must_be_positive(max_bytes: int) -> None:
    with pytest.raises(ValueError, match="max_bytes must be positive"):
        check(PNG, max_bytes=max_bytes)


def test_upload_rejected_repr() -> None:
    error = UploadRejected(UploadErrorCode.EMPTY, EMPTY_MESSAGE)
    assert repr(error) == f"UploadRejected('empty', '{EMPTY_MESSAGE}')"
    assert isinstance(error, ValueError)


# safe_display_name -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("申請書.pdf", "申請書.pdf"),
        ("../../etc/passwd", "passwd"),
        ("C:\\Users\\taro\\Desktop\\住民票.pdf", "住民票.pdf"),
        ("フォルダ／写真.jpg", "写真.jpg"),
        ("フォルダ＼写真.jpg", "写真.jpg"),
        ("ｼﾝｾｲｼｮ　１.pdf", "シンセイショ 1.pdf"),
        ("  spaced   name .pdf ", "spaced name .pdf"),
        ("a\x00b\x1fc\x7f\x85.pdf", "abc.pdf"),
        ("line\nbreak.pdf", "linebreak.pdf"),
        ("photo\u202egpj.exe", "photogpj.exe"),
        ("写真\udcff.jpg", "写真.jpg"),
        ("", "file"),
        ("/", "file"),
        ("folder/", "file"),
        (".", "file"),
        ("..", "file"),
        ("\x00\x01\x02", "file"),
        ("\u3000 \t", "file"),
    ],
)
def test_safe_display_name(name: str, expected: str) -> None:
    assert safe_display_name(name) == expected


def test_a_long_name_is_cut_to_100_characters_keeping_its_extension() -> None:
    assert safe_display_name("あ" * 150 + ".pdf") == "あ" * 96 + ".pdf"
    assert safe_display_name("a" * 100 + ".jpeg") == "a" * 95 + ".jpeg"
    assert safe_display_name("a" * 100) == "a" * 100


def test_a_long_name_without_a_short_extension_is_cut_at_100_characters() -> None:
    assert safe_display_name("a" * 150) == "a" * 100
    assert safe_display_name("a." + "b" * 150) == "a." + "b" * 98
    assert safe_display_name("." + "b" * 150) == "." + "b" * 99


def test_a_cut_is_normalised_again() -> None:
    """Cutting before a space leaves no trailing space before the extension."""
    assert safe_display_name("a" * 95 + " bbbbb.pdf") == "a" * 95 + ".pdf"


def test_a_cut_that_leaves_a_dash_after_kana_makes_it_a_long_vowel_mark() -> None:
    """The dash of "ア-1" stays a hyphen before the digit; cut off from it, it is ー, as a
    second call would make it anyway."""
    shortened = safe_display_name("ア" * 95 + "-1.pdf")
    assert shortened == "ア" * 95 + "ー.pdf"
    assert safe_display_name(shortened) == shortened


@given(st.text())
def test_safe_display_name_properties(name: str) -> None:
    result = safe_display_name(name)
    assert 1 <= len(result) <= 100
    assert not {"/", "\\"} & set(result)
    assert all(unicodedata.category(char) not in {"Cc", "Cs"} for char in result)
    assert safe_display_name(result) == result


# store_upload and open_stored ------------------------------------------------------------------

STORAGE_NAME = re.compile(r"attachments/281000/2026/04/[0-9a-f]{32}")


@pytest.fixture
def april_2026(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("django.utils.timezone.localdate", lambda: datetime.date(2026, 4, 30))


def local(root: Path) -> PrivateFileSystemStorage:
    return PrivateFileSystemStorage(location=root)


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.mark.usefixtures("april_2026")
def test_store_and_open_round_trip(tmp_path: Path) -> None:
    stream = io.BytesIO(PNG)
    checked = check_upload(stream, original_name="a.png", accept=("image/png",), max_bytes=MB)
    stream.seek(0)

    name = store_upload(stream, storage=local(tmp_path), municipality_code="281000")

    assert STORAGE_NAME.fullmatch(name)
    with open_stored(storage=local(tmp_path), storage_name=name) as stored:
        data = stored.read()
    assert data == PNG
    assert hashlib.sha256(data).hexdigest() == checked.sha256 == PNG_SHA256


@pytest.mark.usefixtures("april_2026")
def test_stored_files_and_their_folders_are_private(tmp_path: Path) -> None:
    name = store_upload(io.BytesIO(PDF), storage=local(tmp_path), municipality_code="281000")

    assert mode(tmp_path / name) == 0o600
    for folder in ("attachments", "attachments/281000", "attachments/281000/2026"):
        assert mode(tmp_path / folder) == 0o700
    assert mode(tmp_path / "attachments/281000/2026/04") == 0o700
    assert [path.name for path in (tmp_path / "attachments/281000/2026/04").iterdir()] == [
        name.rsplit("/", 1)[1]
    ]


@pytest.mark.usefixtures("april_2026")
def test_every_upload_gets_a_new_name(tmp_path: Path) -> None:
    first = store_upload(io.BytesIO(PNG), storage=local(tmp_path), municipality_code="281000")
    second = store_upload(io.BytesIO(PNG), storage=local(tmp_path), municipality_code="281000")
    assert first != second
    assert STORAGE_NAME.fullmatch(second)


def test_a_missing_root_is_created(tmp_path: Path) -> None:
    root = tmp_path / "var" / "media"
    name = store_upload(io.BytesIO(GIF), storage=local(root), municipality_code="285013")
    assert name.startswith("attachments/285013/")
    with open_stored(storage=local(root), storage_name=name) as stored:
        assert stored.read() == GIF


def test_the_stream_is_stored_from_its_current_position(tmp_path: Path) -> None:
    stream = io.BytesIO(b"skipped" + PNG)
    stream.seek(len(b"skipped"))
    name = store_upload(stream, storage=local(tmp_path), municipality_code="281000")
    assert (tmp_path / name).read_bytes() == PNG


@pytest.mark.parametrize("code", ["", "28100", "2810000", "../281000", "281000/..", "２８１０００"])
def test_store_refuses_a_malformed_municipality_code(tmp_path: Path, code: str) -> None:
    with pytest.raises(ValueError, match="municipality_code must be 6 digits"):
        store_upload(io.BytesIO(PNG), storage=local(tmp_path), municipality_code=code)
    assert list(tmp_path.iterdir()) == []


def test_a_failed_write_leaves_no_file(tmp_path: Path) -> None:
    class Broken(io.RawIOBase):
        def __init__(self) -> None:
            self.calls = 0

        def readable(self) -> bool:
            return True

        def readinto(self, buffer: WriteableBuffer) -> int:
            self.calls += 1
            if self.calls > 1:
                raise OSError("connection reset")
            memoryview(buffer).cast("B")[:4] = b"\x89PNG"
            return 4

    with pytest.raises(OSError, match="connection reset"):
        store_upload(binary(Broken()), storage=local(tmp_path), municipality_code="281000")
    assert [path for path in tmp_path.rglob("*") if path.is_file()] == []


@pytest.mark.parametrize(
    "storage_name",
    [
        "",
        ".",
        "../x",
        "../../etc/passwd",
        "attachments/../../x",
        "attachments/281000/../../../x",
        "/etc/passwd",
        "//etc/passwd",
        "attachments\\..\\..\\x",
        "attachments/281000/a\x00b",
        "attachments//x",
        "attachments/./x",
        "attachments/x/",
        "attachments/.hidden",
        "attachments/a b",
        "attachments/%2e%2e/x",
    ],
)
def test_open_stored_refuses_names_that_leave_the_root(tmp_path: Path, storage_name: str) -> None:
    root = tmp_path / "root"
    root.mkdir()
    (tmp_path / "x").write_bytes(b"outside")
    with pytest.raises(ValueError, match="storage"):
        open_stored(storage=local(root), storage_name=storage_name)


def test_open_stored_refuses_a_symlink_out_of_the_root(tmp_path: Path) -> None:
    root = tmp_path / "root"
    (root / "attachments").mkdir(parents=True)
    secret = tmp_path / "secret"
    secret.write_bytes(b"outside")
    os.symlink(secret, root / "attachments" / "link")
    with pytest.raises(ValueError, match="escapes the storage root"):
        open_stored(storage=local(root), storage_name="attachments/link")


def test_open_stored_of_a_missing_file_raises_file_not_found(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        open_stored(storage=local(tmp_path), storage_name="attachments/281000/2026/04/" + "0" * 32)


def test_delete_stored_deletes_a_stored_file_once(tmp_path: Path) -> None:
    storage = local(tmp_path)
    name = store_upload(io.BytesIO(PNG), storage=storage, municipality_code="281000")
    assert (tmp_path / name).is_file()

    assert delete_stored(name, storage=storage) is True
    assert not (tmp_path / name).exists()
    assert delete_stored(name, storage=storage) is False


@pytest.mark.parametrize(
    "storage_name", ["../x", "/x", "attachments/../../x", "attachments\\..\\x"]
)
def test_delete_stored_refuses_names_that_leave_the_root(tmp_path: Path, storage_name: str) -> None:
    root = tmp_path / "root"
    root.mkdir()
    outside = tmp_path / "x"
    outside.write_bytes(b"outside")
    assert delete_stored(storage_name, storage=local(root)) is False
    assert outside.read_bytes() == b"outside"


def test_delete_stored_leaves_a_symlink_and_its_target(tmp_path: Path) -> None:
    root = tmp_path / "root"
    (root / "attachments").mkdir(parents=True)
    secret = tmp_path / "secret"
    secret.write_bytes(b"outside")
    os.symlink(secret, root / "attachments" / "link")
    assert delete_stored("attachments/link", storage=local(root)) is False
    assert secret.read_bytes() == b"outside"
    assert (root / "attachments" / "link").is_symlink()


@pytest.mark.usefixtures("april_2026")
def test_without_a_storage_files_go_to_the_configured_one(settings: Any, tmp_path: Path) -> None:
    """STORAGES["default"] under MEDIA_ROOT: the one setting that moves every upload."""
    settings.MEDIA_ROOT = tmp_path / "shared"
    name = store_upload(io.BytesIO(PDF), municipality_code="281000")

    assert (tmp_path / "shared" / name).read_bytes() == PDF
    assert mode(tmp_path / "shared" / name) == 0o600
    with open_stored(name) as stored:
        assert stored.read() == PDF
    assert delete_stored(name) is True
    assert not (tmp_path / "shared" / name).exists()
