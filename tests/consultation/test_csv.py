"""FAQ CSV: UTF-8 and cp932 in, broken rows reported per row with nothing stored, out again."""

from __future__ import annotations

import csv
import io

import pytest

from madoguchi.audit.services import AuditActor
from madoguchi.consultation.csvio import faq_export_csv, faq_import_csv
from madoguchi.consultation.errors import ConsultationError
from madoguchi.consultation.models import FaqEntry, KnowledgeBase
from madoguchi.consultation.selectors import knowledge_version
from tests.isolation import Tenant, snapshot

ACTOR = AuditActor(label="test")
HEADER = "管理番号,分類,担当部署コード,質問,言い換え,回答,掲載開始日,掲載終了日,公開\r\n"


def test_a_utf8_file_creates_entries(tenant_a: Tenant) -> None:
    body = (
        HEADER
        + "gomi,ごみ,welfare,ごみの出し方,ゴミの捨て方 | 分別,"
        + "収集日の朝に出してください。,,,1\r\n"
        + 'tax,税,,住民税の納付,,"6月に通知します。\n4回に分けて納めます。",'
        + "2026-04-01,2027/03/31,0\r\n"
    )
    report = faq_import_csv(
        municipality=tenant_a.municipality, raw=("\ufeff" + body).encode("utf-8"), actor=ACTOR
    )
    assert (report.created, report.updated, report.unchanged) == (2, 0, 0)
    gomi = FaqEntry.objects.get(code="gomi")
    assert gomi.alternatives == ["ゴミの捨て方", "分別"]
    assert gomi.department == tenant_a.departments["welfare"]
    tax = FaqEntry.objects.get(code="tax")
    assert tax.answer == "6月に通知します。\n4回に分けて納めます。"
    assert (str(tax.valid_from), str(tax.valid_until), tax.is_published) == (
        "2026-04-01",
        "2027-03-31",
        False,
    )
    assert knowledge_version(municipality=tenant_a.municipality) == 1
    again = faq_import_csv(
        municipality=tenant_a.municipality, raw=body.encode("utf-8"), actor=ACTOR
    )
    assert (again.created, again.updated, again.unchanged) == (0, 0, 2)
    assert knowledge_version(municipality=tenant_a.municipality) == 1


def test_a_cp932_file_from_excel_is_read(tenant_a: Tenant) -> None:
    body = HEADER + "card,マイナンバー,,ｶｰﾄﾞの申込み～受取り,,窓口へ,,,\r\n"
    faq_import_csv(municipality=tenant_a.municipality, raw=body.encode("cp932"), actor=ACTOR)
    assert FaqEntry.objects.get(code="card").question == "カードの申込み～受取り"


def test_broken_rows_are_reported_per_row_and_nothing_is_stored(tenant_a: Tenant) -> None:
    faq_import_csv(
        municipality=tenant_a.municipality,
        raw=(HEADER + "keep,ごみ,,元の質問,,元の回答,,,1\r\n").encode(),
        actor=ACTOR,
    )
    before = snapshot(FaqEntry.objects.all())
    version = KnowledgeBase.objects.get().version
    body = (
        HEADER
        + "keep,ごみ,,変えた質問,,変えた回答,,,1\r\n"  # valid, but must not be stored
        + "bad code!,ごみ,,質問,,回答,,,1\r\n"
        + "no-answer,ごみ,,質問,,,,,1\r\n"
        + "dept,ごみ,nowhere,質問,,回答,,,1\r\n"
        + "date,ごみ,,質問,,回答,令和8年,,1\r\n"
        + "keep,ごみ,,重複,,回答,,,1\r\n"
        + "pub,ごみ,,質問,,回答,,,maybe\r\n"
    )
    with pytest.raises(ConsultationError) as caught:
        faq_import_csv(municipality=tenant_a.municipality, raw=body.encode(), actor=ACTOR)
    assert caught.value.errors == [
        "6行目：掲載開始日は「2026-04-01」の形で入力してください（「令和8年」）。",
        "8行目：公開は 1 か 0 で入力してください。",
        "3行目：管理番号は60文字以内の英数字・ハイフン・下線で入力してください。",
        "4行目：回答を4,000文字以内で入力してください。",
        "5行目：部署コード「nowhere」はこの自治体にありません。",
        "7行目：管理番号「keep」が2行目と重なっています。",
    ]
    assert snapshot(FaqEntry.objects.all()) == before
    assert KnowledgeBase.objects.get().version == version


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        (b"", "ファイルが空です。1行目に見出しを入れてください。"),
        (b"code,question\r\nx,y\r\n", "見出しに「分類」「回答」がありません。"),
        (b"\x81 \xff", "文字コードを判別できません。"),
        (HEADER.encode(), "取り込む行がありません。"),
    ],
)
def test_files_that_are_not_faq_csv_get_a_clear_error(
    tenant_a: Tenant, raw: bytes, message: str
) -> None:
    with pytest.raises(ConsultationError) as caught:
        faq_import_csv(municipality=tenant_a.municipality, raw=raw, actor=ACTOR)
    assert caught.value.message.startswith(message)
    assert not FaqEntry.objects.exists()


def test_export_reads_back_and_neutralises_formulas(tenant_a: Tenant) -> None:
    body = HEADER + 'calc,その他,,=HYPERLINK("x"),,回答 😀,,,1\r\n'
    faq_import_csv(municipality=tenant_a.municipality, raw=body.encode(), actor=ACTOR)
    exported = faq_export_csv(municipality=tenant_a.municipality)
    assert exported.startswith("\ufeff".encode())
    rows = list(csv.reader(io.StringIO(exported.decode("utf-8-sig"))))
    assert rows[1][3] == '\'=HYPERLINK("x")'
    with pytest.raises(ConsultationError, match="Shift_JIS で表せない文字"):
        faq_export_csv(municipality=tenant_a.municipality, encoding="cp932")
    FaqEntry.objects.all().delete()
    faq_import_csv(municipality=tenant_a.municipality, raw=exported, actor=ACTOR)
    entry = FaqEntry.objects.get(code="calc")
    assert (entry.question, entry.answer) == ('=HYPERLINK("x")', "回答 😀")
