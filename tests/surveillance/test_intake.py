"""CSV batches: good rows are filed, broken rows reported one by one and store nothing."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from madoguchi.surveillance.intake import COLUMNS, notification_csv_import
from madoguchi.surveillance.models import Case, Notification
from tests.isolation import signed_in_client
from tests.surveillance.factories import ACTOR, TODAY, World

HEADER = ",".join(COLUMNS)
GOOD = ",".join(
    [
        "患者（確定例）",
        "山田 太郎",
        "やまだ たろう",
        "男",
        "1990-04-01",
        "神戸市中央区1",
        "281000",
        "090-1234-5678",
        "発熱;咳",
        "抗原定性",
        "2026-11-19",
        "2026-11-17",
        "2026-11-19",
        "",
    ]
)
GOOD_SAYO = ",".join(
    [
        "無症状病原体保有者",
        "佐用 花子",
        "さよう はなこ",
        "女",
        "1980/1/1",
        "佐用町1",
        "285013",
        "",
        "",
        "PCR",
        "2026-11-19",
        "",
        "2026-11-18",
        "",
    ]
)
SAME_PERSON = ",".join(
    [
        "患者（確定例）",
        "山田　太郎",
        "やまだ たろう",
        "男",
        "1990-04-01",
        "神戸市中央区1",
        "281000",
        "09012345678",
        "発熱",
        "抗原定性",
        "2026-11-19",
        "2026-11-18",
        "2026-11-19",
        "",
    ]
)
BAD_DATES = ",".join(
    [
        "患者（確定例）",
        "神戸 次郎",
        "こうべ じろう",
        "男",
        "1970-01-01",
        "神戸市",
        "281000",
        "",
        "発熱",
        "抗原定性",
        "2026-11-19",
        "2026-11-20",
        "2026-11-19",
        "",
    ]
)
BAD_FORMAT = ",".join(
    [
        "患者（確定例）",
        "神戸 三郎",
        "こうべ さぶろう",
        "男",
        "昭和45年",
        "神戸市",
        "281000",
        "",
        "発熱",
        "抗原定性",
        "2026-11-19",
        "2026-11-18",
        "2026-11-19",
        "",
    ]
)
BAD_SYMPTOM = ",".join(
    [
        "患者（確定例）",
        "神戸 四郎",
        "こうべ しろう",
        "男",
        "1970-01-01",
        "神戸市",
        "281000",
        "",
        "頭痛",
        "抗原定性",
        "2026-11-19",
        "2026-11-18",
        "2026-11-19",
        "",
    ]
)
SHORT = "患者（確定例）,神戸 五郎"


def _csv(*rows: str, encoding: str = "utf-8") -> bytes:
    return "\n".join((HEADER, *rows)).encode(encoding)


def test_a_batch_with_broken_rows(world: World) -> None:
    content = _csv(GOOD, BAD_DATES, GOOD_SAYO, BAD_FORMAT, SAME_PERSON, BAD_SYMPTOM, SHORT)
    results = notification_csv_import(
        clinic=world.clinic, content=content, actor=ACTOR, today=TODAY
    )
    assert [(r.line, r.errors) for r in results if r.errors] == [
        (3, ["発病年月日：発病年月日が診断年月日より後になっています。"]),
        (5, ["生年月日：日付は 2026-11-20 の形で入力してください。"]),
        (7, ["症状：「頭痛」は選択肢にありません。"]),
        (
            8,
            [
                "ふりがな：入力してください。",
                "性別：入力してください。",
                "生年月日：入力してください。",
                "住所：入力してください。",
                "所在地コード：入力してください。",
                "診断年月日：この類型では入力が必要です。",
                "診断方法：この類型では入力が必要です。",
                "検体採取日：この類型では入力が必要です。",
                "発病年月日：この類型では入力が必要です。",
                "症状：患者（確定例）では症状を1つ以上選んでください。"
                "症状がなければ「無症状病原体保有者」です。",
            ],
        ),
    ]
    assert [(r.line, r.linked) for r in results if not r.errors] == [
        (2, False),
        (4, False),
        (6, True),
    ]
    assert Case.objects.count() == 2
    assert Notification.objects.count() == 3


def test_shift_jis_is_read(world: World) -> None:
    results = notification_csv_import(
        clinic=world.clinic, content=_csv(GOOD, encoding="cp932"), actor=ACTOR, today=TODAY
    )
    assert [r.errors for r in results] == [[]]


def test_missing_columns_file_nothing(world: World) -> None:
    with pytest.raises(ValueError, match="列が足りません：症状"):
        notification_csv_import(
            clinic=world.clinic,
            content=HEADER.replace(",症状", "").encode() + b"\n" + GOOD.encode(),
            actor=ACTOR,
        )
    assert Case.objects.count() == 0


def test_upload_page_reports_rows(world: World) -> None:
    client = signed_in_client(world.clinic.user)
    url = world.kobe.url("health/clinic/csv/")
    response = client.post(url, {"file": SimpleUploadedFile("b.csv", _csv(BAD_SYMPTOM))})
    assert response.status_code == 200
    assert "1 行中 0 行を届け出ました。" in response.content.decode()
    assert "「頭痛」は選択肢にありません。" in response.content.decode()
    garbage = client.post(url, {"file": SimpleUploadedFile("b.csv", b"\xff\xfe\x00garbage")})
    assert garbage.status_code == 400
    assert Case.objects.count() == 0
