"""麻しん on the pages: the clinic's choice of disease and 類型, the form, the CSV 疾患 column,
the case list filter, the case page, and isolation between bodies."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from madoguchi.surveillance.intake import COLUMNS, notification_csv_import
from madoguchi.surveillance.models import Case, Notification, ReportLink
from tests.isolation import assert_cannot_read, signed_in_client, snapshot
from tests.surveillance.factories import ACTOR, TODAY, World, adult, file, measles

FORM = {
    "name": "長田 悠真",
    "name_kana": "ながた ゆうま",
    "sex": "male",
    "birth_date": "2019-06-10",
    "address": "神戸市長田区1-1",
    "residence_code": "281000",
    "guardian": "長田 一郎",
    "disease_type": "laboratory",
    "symptoms": ["fever", "rash", "cough", "koplik"],
    "test_methods": ["genome", "igm"],
    "diagnosis_date": "2026-11-19",
    "onset_date": "2026-11-15",
    "rash_date": "2026-11-18",
    "infection_area": "abroad",
    "infection_country": "ベトナム",
    "vaccine_1": "unknown",
    "vaccine_2": "unknown",
}
NEW = "health/clinic/new/measles/patient/"


def _clinic(world: World) -> Client:
    return signed_in_client(world.clinic.user)


def test_the_clinic_chooses_the_disease_then_the_category(world: World) -> None:
    client = _clinic(world)
    home = client.get(world.kobe.url("health/clinic/")).content.decode()
    assert 'href="?disease=measles"' in home
    assert 'href="/kobe/health/clinic/new/covid19/suspected/"' in home
    chosen = client.get(world.kobe.url("health/clinic/?disease=measles")).content.decode()
    assert "発生届（麻しん）" in chosen
    assert "5類感染症・全数把握（直ちに届出）" in chosen
    for category in ("patient", "asymptomatic", "dead"):
        assert f'href="/kobe/health/clinic/new/measles/{category}/"' in chosen
    assert "/new/measles/suspected/" not in chosen
    assert "疑似症患者" not in chosen


def test_the_form_shows_only_the_items_of_measles_and_the_category(world: World) -> None:
    client = _clinic(world)
    patient = client.get(world.kobe.url(NEW)).content.decode()
    for name in ("disease_type", "rash_date", "test_methods", "vaccine_1", "vaccine_2_age"):
        assert f'name="{name}"' in patient
    assert "コプリック斑" in patient
    assert "麻しん（臨床診断例）" in patient
    for name in ("vaccine_doses", "hospitalisation", "specimen_date", "test_method", "pregnant"):
        assert f'name="{name}"' not in patient
    assert "嗅覚・味覚障害" not in patient
    assert "健康観察のリンク送付先" not in patient
    carrier = client.get(world.kobe.url("health/clinic/new/measles/asymptomatic/")).content.decode()
    for name in ("disease_type", "symptoms", "rash_date", "onset_date", "death_date"):
        assert f'name="{name}"' not in carrier
    assert 'name="test_methods"' in carrier
    # COVID-19 under its new address shows what it always showed.
    covid = client.get(world.kobe.url("health/clinic/new/covid19/patient/")).content.decode()
    assert 'name="vaccine_doses"' in covid
    assert 'name="vaccine_1"' not in covid


def test_the_clinic_files_a_measles_notification(world: World) -> None:
    client = _clinic(world)
    # Hidden items (COVID-19's) are ignored, even nonsense.
    response = client.post(
        world.kobe.url(NEW), {**FORM, "vaccine_doses": "abc", "hospitalisation": "on"}
    )
    assert response.status_code == 200
    assert "新しい患者として登録しました。" in response.content.decode()
    case = Case.objects.get()
    assert (case.disease, case.name, case.health["disease_type"]) == (
        "measles",
        "長田 悠真",
        "laboratory",
    )
    notification = Notification.objects.get()
    assert notification.items["infection_country"] == "ベトナム"
    assert notification.items["vaccine_doses"] is None
    home = client.get(world.kobe.url("health/clinic/")).content.decode()
    assert "<td>麻しん</td>" in home


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        (
            {
                "disease_type": "clinical",
                "test_methods": ["clinical"],
                "symptoms": ["fever", "rash"],
            },
            "臨床診断例では、発熱・発疹・カタル症状（咳・鼻汁・結膜充血のいずれか）のすべてが必要です。",
        ),
        ({"rash_date": ""}, "この症状がある場合は日付を入力してください。"),
        ({"infection_country": ""}, "国外の場合は、推定される感染国を入力してください。"),
        ({"vaccine_1": ""}, "予防接種歴（1回目）：選択肢から1つ選んでください。"),
        ({"rash_date": "2026-11-10"}, "発疹出現日が発病年月日より前になっています。"),
        ({"disease_type": "suspected"}, "正しく選択してください。"),
    ],
)
def test_a_bad_measles_notification_gets_a_japanese_message_and_stores_nothing(
    world: World, changes: dict[str, object], message: str
) -> None:
    response = _clinic(world).post(world.kobe.url(NEW), {**FORM, **changes})
    assert response.status_code == 400
    assert message in response.content.decode()
    assert Case.objects.count() == 0
    assert Notification.objects.count() == 0


def test_unknown_disease_or_a_category_measles_lacks_is_a_404(world: World) -> None:
    client = _clinic(world)
    assert client.get(world.kobe.url("health/clinic/new/rubella/patient/")).status_code == 404
    assert client.get(world.kobe.url("health/clinic/new/measles/suspected/")).status_code == 404


MEASLES_HEADER = ",".join(
    (*COLUMNS, "疾患", "病型", "発疹出現日", "感染地域", "予防接種歴1回目", "予防接種歴2回目")
)


def _row(**values: str) -> str:
    base = {
        "類型": "患者（確定例）",
        "氏名": "灘 美咲",
        "ふりがな": "なだ みさき",
        "性別": "女",
        "生年月日": "1996-02-20",
        "住所": "神戸市灘区1",
        "所在地コード": "281000",
        "電話番号": "",
        "症状": "発熱;発疹;鼻汁",
        "診断方法": "臨床決定",
        "診断年月日": "2026-11-19",
        "発病年月日": "2026-11-15",
        "検体採取日": "",
        "死亡年月日": "",
        "疾患": "麻しん",
        "病型": "麻しん（臨床診断例）",
        "発疹出現日": "2026-11-18",
        "感染地域": "国内",
        "予防接種歴1回目": "不明",
        "予防接種歴2回目": "不明",
    }
    base.update(values)
    return ",".join(base.values())


def test_a_csv_batch_with_a_disease_column(world: World) -> None:
    covid = _row(
        疾患="",
        氏名="山田 太郎",
        症状="発熱;咳",
        診断方法="抗原定性",
        検体採取日="2026-11-19",
        病型="",
        発疹出現日="",
    )
    rows = (
        _row(),
        _row(疾患="measles", 氏名="垂水 健一", 病型="修飾麻しん（検査診断例）", 診断方法="PCR;IgM"),
        covid,
        _row(疾患="風しん", 氏名="風 花子"),
        _row(氏名="灘 次郎", 症状="発熱;発疹"),
        _row(氏名="灘 三郎", 類型="疑似症患者"),
        _row(氏名="灘 四郎", 診断方法="血液検査"),
        _row(氏名="灘 五郎", 感染地域="海外"),
    )
    content = "\n".join((MEASLES_HEADER, *rows)).encode()
    results = notification_csv_import(
        clinic=world.clinic, content=content, actor=ACTOR, today=TODAY
    )
    assert [(r.line, r.errors) for r in results if r.errors] == [
        (
            5,
            [
                "疾患：「風しん」は届け出られる疾患にありません（新型コロナウイルス感染症、麻しん）。"
            ],
        ),
        (
            6,
            [
                "症状：臨床診断例では、発熱・発疹・カタル症状（咳・鼻汁・結膜充血のいずれか）の"
                "すべてが必要です。"
            ],
        ),
        (7, ["類型：選択肢にない値です。"]),
        (8, ["診断方法：「血液検査」は選択肢にありません。"]),
        (9, ["感染地域：「海外」は選択肢にありません。"]),
    ]
    assert [(r.line, r.linked) for r in results if not r.errors] == [
        (2, False),
        (3, False),
        (4, False),
    ]
    cases = {c.name: (c.disease, c.health.get("disease_type")) for c in Case.objects.all()}
    assert cases == {
        "灘 美咲": ("measles", "clinical"),
        "垂水 健一": ("measles", "modified"),
        "山田 太郎": ("covid19", None),
    }


def test_a_csv_measles_row_names_its_missing_items(world: World) -> None:
    content = "\n".join((MEASLES_HEADER, _row(病型="", 予防接種歴1回目="", 発疹出現日=""))).encode()
    [result] = notification_csv_import(
        clinic=world.clinic, content=content, actor=ACTOR, today=TODAY
    )
    assert result.errors == [
        "予防接種歴1回目：この類型では入力が必要です。",
        "病型：この類型では入力が必要です。",
        "発疹出現日：この症状がある場合は日付を入力してください。",
    ]
    assert Case.objects.count() == 0


def test_the_upload_page_lists_the_optional_columns(world: World) -> None:
    client = _clinic(world)
    url = world.kobe.url("health/clinic/csv/")
    assert "疾患,病型,発疹出現日" in client.get(url).content.decode()
    upload = SimpleUploadedFile("m.csv", "\n".join((MEASLES_HEADER, _row())).encode())
    response = client.post(url, {"file": upload})
    assert "1 行中 1 行を届け出ました。" in response.content.decode()


def test_the_case_list_filters_by_disease(world: World) -> None:
    file(world, adult(name="コロナ 太郎"))
    file(world, measles(name="麻疹 次郎"))
    nurse = signed_in_client(world.nurse)
    url = world.kobe.url("health/cases/")
    every = nurse.get(url).content.decode()
    assert "コロナ 太郎" in every
    assert "麻疹 次郎" in every
    assert "<td>麻しん</td>" in every
    only = nurse.get(f"{url}?disease=measles").content.decode()
    assert "麻疹 次郎" in only
    assert "コロナ 太郎" not in only
    assert '<option value="measles" selected>' in only
    covid = nurse.get(f"{url}?disease=covid19").content.decode()
    assert ("コロナ 太郎" in covid, "麻疹 次郎" in covid) == (True, False)
    unknown = nurse.get(f"{url}?disease=rubella").content.decode()
    assert ("コロナ 太郎" in unknown, "麻疹 次郎" in unknown) == (True, True)


def test_the_case_page_of_a_measles_case(world: World) -> None:
    case = file(world, measles()).case
    nurse = signed_in_client(world.nurse)
    url = world.kobe.url(f"health/cases/{case.pk}/")
    page = nurse.get(url).content.decode()
    assert '<dd id="disease">麻しん</dd>' in page
    assert "患者（確定例）・麻しん（検査診断例）" in page
    assert "報告用リンクを発行する" not in page
    assert "麻しんでは、毎日の体調報告（報告用リンク）は使いません。" in page
    assert "就業制限の対象ではないため、療養証明書は発行しません。" in page
    before = snapshot(ReportLink.objects.all())
    response = nurse.post(url, {"action": "issue_link"})
    assert response.status_code == 400
    assert "毎日の体調報告（健康観察の報告）を受け付けていません。" in response.content.decode()
    assert snapshot(ReportLink.objects.all()) == before
    worklist = nurse.get(world.kobe.url("health/worklist/")).content.decode()
    assert "山田 太郎" not in worklist


def test_another_bodys_staff_cannot_see_a_measles_case(world: World) -> None:
    """Kobe's 麻しん case is Kobe's alone; a Sayo resident's is Hyogo's, and Sayo sees neither."""
    kobe_case = file(world, measles(name="神戸 麻疹")).case
    hyogo_case = file(world, measles(name="佐用 麻疹", residence_code="285013")).case
    assert (kobe_case.municipality, hyogo_case.municipality) == (
        world.kobe.municipality,
        world.hyogo,
    )
    hyogo = signed_in_client(world.hyogo_nurse)
    assert_cannot_read(
        hyogo, world.kobe.url(f"health/cases/{kobe_case.pk}/"), must_not_contain=["神戸 麻疹"]
    )
    assert_cannot_read(hyogo, f"/{world.hyogo.slug}/health/cases/{kobe_case.pk}/")
    listing = hyogo.get(f"/{world.hyogo.slug}/health/cases/?disease=measles").content.decode()
    assert ("佐用 麻疹" in listing, "神戸 麻疹" in listing) == (True, False)
    kobe = signed_in_client(world.nurse)
    assert_cannot_read(
        kobe, world.kobe.url(f"health/cases/{hyogo_case.pk}/"), must_not_contain=["佐用 麻疹"]
    )
    assert (
        "佐用 麻疹"
        not in kobe.get(world.kobe.url("health/cases/?disease=measles")).content.decode()
    )
    sayo = world.sayo.client("admin")
    assert_cannot_read(
        sayo, world.sayo.url("health/cases/?disease=measles"), must_not_contain=["佐用 麻疹"]
    )
    welfare = world.kobe.client("clerk")
    assert_cannot_read(
        welfare, world.kobe.url(f"health/cases/{kobe_case.pk}/"), must_not_contain=["神戸 麻疹"]
    )


def test_the_measles_case_page_has_the_care_setting_but_no_spo2_severity(world: World) -> None:
    covid = file(world, adult(name="コロナ 太郎")).case
    case = file(world, measles()).case
    nurse = signed_in_client(world.nurse)
    covid_page = nurse.get(world.kobe.url(f"health/cases/{covid.pk}/")).content.decode()
    assert ('name="severity"' in covid_page, "中等症II" in covid_page) == (True, True)
    url = world.kobe.url(f"health/cases/{case.pk}/")
    page = nurse.get(url).content.decode()
    assert 'name="severity"' not in page
    assert ("重症度" in page, "中等症" in page) == (False, False)
    assert '<select id="care" name="care">' in page
    assert "<h2>療養先</h2>" in page
    ok = nurse.post(url, {"action": "care", "care": "hospital", "care_from": "2026-11-19"})
    assert ok.status_code == 302
    case.refresh_from_db()
    assert (case.health["care_setting"], case.health["care_from"], case.health["severity"]) == (
        "hospital",
        "2026-11-19",
        "",
    )


def test_a_severity_posted_for_measles_is_refused_and_nothing_changes(world: World) -> None:
    case = file(world, measles()).case
    nurse = signed_in_client(world.nurse)
    before = snapshot(Case.objects.all())
    response = nurse.post(
        world.kobe.url(f"health/cases/{case.pk}/"),
        {"action": "care", "care": "hospital", "severity": "moderate2"},
    )
    assert response.status_code == 400
    assert (
        "麻しんでは重症度（軽症・中等症・重症の分類）を記録しません。" in response.content.decode()
    )
    assert snapshot(Case.objects.all()) == before
