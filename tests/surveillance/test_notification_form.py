"""The 発生届 form: a ward of a designated city is its city, the place is chosen by name,
no answer is preselected, and yes/no boxes sit next to their labels."""

from __future__ import annotations

import re

from django.test import Client

from madoguchi.surveillance.models import Case, Notification
from madoguchi.surveillance.residence import designated_cities, place_search, routing_codes
from tests.isolation import signed_in_client
from tests.surveillance.factories import World, adult, file
from tests.surveillance.test_views import FORM

URL = "health/clinic/new/patient/"

# The 20 designated cities (政令指定都市) with their 6-digit 団体コード.
DESIGNATED = {
    "011002": "札幌市",
    "041009": "仙台市",
    "111007": "さいたま市",
    "121002": "千葉市",
    "141003": "横浜市",
    "141305": "川崎市",
    "141500": "相模原市",
    "151009": "新潟市",
    "221007": "静岡市",
    "221309": "浜松市",
    "231002": "名古屋市",
    "261009": "京都市",
    "271004": "大阪市",
    "271403": "堺市",
    "281000": "神戸市",
    "331007": "岡山市",
    "341002": "広島市",
    "401005": "北九州市",
    "401307": "福岡市",
    "431001": "熊本市",
}


def _clinic(world: World) -> Client:
    return signed_in_client(world.clinic.user)


def test_every_designated_city_is_found_with_its_wards() -> None:
    cities = designated_cities()
    assert {code: city.name for code, city in cities.items()} == DESIGNATED
    # A ward routes to its city; 千代田区 (a special ward, a body of its own) does not.
    assert routing_codes("281069") == ("281069", "281000")  # 神戸市長田区
    assert routing_codes("011011") == ("011011", "011002")  # 札幌市中央区
    assert routing_codes("271284") == ("271284", "271004")  # 大阪市中央区
    assert routing_codes("131016") == ("131016",)
    assert routing_codes("285013") == ("285013",)


def test_a_ward_of_kobe_is_filed_with_kobes_health_centre(world: World) -> None:
    response = _clinic(world).post(world.kobe.url(URL), {**FORM, "residence": "281069"})
    assert response.status_code == 200, response.content.decode()
    case = Case.objects.get()
    assert (case.health_centre, case.residence_code) == (world.kobe_centre, "281000")
    items = Notification.objects.get().items
    assert (items["residence_code"], items["residence_name"]) == ("281069", "神戸市長田区")


def test_the_service_routes_a_ward_of_a_designated_city_to_the_city(world: World) -> None:
    result = file(world, adult(residence_code="281069"))
    assert result.case.health_centre == world.kobe_centre
    assert result.case.residence_code == "281000"


def test_the_doctor_chooses_the_place_by_name_or_reading(world: World) -> None:
    assert [p.code for p in place_search("長田区")] == ["281069"]
    assert [p.code for p in place_search("ながたく")] == ["281069"]
    assert [p.label for p in place_search("神戸市長田区")] == ["兵庫県 神戸市長田区"]
    # Several bodies share 北区: the ones the clinic's prefecture holds come first.
    kita = place_search("北区", prefecture="28")
    assert kita[0].label == "兵庫県 神戸市北区"
    assert "東京都 北区" in [p.label for p in kita]


def test_an_exact_name_is_taken_without_a_second_step(world: World) -> None:
    response = _clinic(world).post(world.kobe.url(URL), {**FORM, "residence": "神戸市 長田区"})
    assert response.status_code == 200, response.content.decode()
    assert Case.objects.get().residence_code == "281000"
    assert Notification.objects.get().items["residence_code"] == "281069"


def test_a_name_with_several_places_asks_which_and_keeps_every_value(world: World) -> None:
    client = _clinic(world)
    response = client.post(world.kobe.url(URL), {**FORM, "residence": "北区"})
    assert response.status_code == 400
    page = response.content.decode()
    assert "候補から市区町村を選んでください。" in page
    assert 'value="281093"' in page  # 神戸市北区, offered as a choice
    offered = re.search(r'<input[^>]*value="281093"[^>]*>', page)
    assert offered is not None
    assert "checked" not in offered.group(0)
    assert 'value="神戸 一美"' in page
    assert Case.objects.count() == 0
    chosen = client.post(
        world.kobe.url(URL), {**FORM, "residence": "北区", "residence_code": "281093"}
    )
    assert chosen.status_code == 200
    assert Notification.objects.get().items["residence_name"] == "神戸市北区"


def test_the_search_button_lists_places_without_errors_for_other_fields(world: World) -> None:
    response = _clinic(world).post(
        world.kobe.url(URL), {"residence": "ながた", "name": "途中 入力", "residence_search": "1"}
    )
    assert response.status_code == 200
    page = response.content.decode()
    assert "神戸市長田区" in page
    assert 'value="途中 入力"' in page
    assert "入力内容を確認してください" not in page
    assert Case.objects.count() == 0


def test_an_unknown_place_gets_a_message_naming_the_field(world: World) -> None:
    response = _clinic(world).post(world.kobe.url(URL), {**FORM, "residence": "存在しない町"})
    assert response.status_code == 400
    assert "該当する市区町村が見つかりません" in response.content.decode()
    assert Case.objects.count() == 0


def test_a_place_no_registered_health_centre_covers_is_refused_by_name(world: World) -> None:
    response = _clinic(world).post(world.kobe.url(URL), {**FORM, "residence": "131016"})
    assert response.status_code == 400
    assert "千代田区を管轄する保健所が登録されていません" in response.content.decode()
    assert Case.objects.count() == 0


def test_no_answer_is_preselected_and_each_group_asks_for_an_answer(world: World) -> None:
    client = _clinic(world)
    page = client.get(world.kobe.url(URL)).content.decode()
    assert re.search(r'<input type="radio"[^>]*name="sex"', page)
    assert " checked" not in page
    without_sex = {k: v for k, v in FORM.items() if k != "sex"}
    response = client.post(world.kobe.url(URL), without_sex)
    assert response.status_code == 400
    assert "性別：選択肢から1つ選んでください。" in response.content.decode()
    assert Case.objects.count() == 0


def test_yes_no_boxes_are_inside_their_labels(world: World) -> None:
    page = _clinic(world).get(world.kobe.url(URL)).content.decode()
    box = re.search(
        r'<label class="checkbox[^"]*"[^>]*>\s*<input type="checkbox" name="hospitalisation"[^>]*>'
        r"\s*入院を要する\s*</label>",
        page,
    )
    assert box is not None, page
