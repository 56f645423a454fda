"""Loading municipalities from the bundled LG_CODE list, their validation, and memberships."""

from __future__ import annotations

from io import StringIO
from typing import Any

import pytest
from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.core.management.base import CommandError

from madoguchi.audit.models import PLATFORM_CHAIN, AuditEntry
from madoguchi.audit.services import AuditActor
from madoguchi.core.checkdigits import lgcode_with_check_digit
from madoguchi.tenants.models import Membership, Municipality, Role
from madoguchi.tenants.services import MembershipError, membership_grant
from tests.isolation import Tenant, snapshot
from tests.tenants.factories import MunicipalityFactory, UserFactory

# LG_CODE.csv has 2,296 rows; the one for 全国 (lgcode 0) is not a body of its own.
BODIES_IN_LGCODE_CSV = 2295
HIGASHINADA = lgcode_with_check_digit("28101")  # 東灘区 of 神戸市


def load(*args: str) -> str:
    out = StringIO()
    call_command("municipalities", "load", *args, stdout=out)
    return out.getvalue()


def municipalities() -> list[dict[str, Any]]:
    return snapshot(Municipality.objects.all())


def by_code(code: str) -> Municipality:
    return Municipality.objects.select_related("parent", "prefecture").get(code=code)


# --- municipalities load ---------------------------------------------------------------------


def test_loading_a_city_creates_it_active_with_its_prefecture(db: None) -> None:
    """``load 281000 --activate`` creates 神戸市 served, and 兵庫県 as its (unserved) parent."""
    output = load("281000", "--activate")

    assert output == "281000 神戸市 /281000/ (active)\n"
    kobe = by_code("281000")
    hyogo = by_code("280003")
    assert (kobe.name, kobe.code, kobe.slug, kobe.is_active) == ("神戸市", "281000", "281000", True)
    assert (kobe.prefecture, kobe.parent) == (hyogo, hyogo)
    assert (hyogo.name, hyogo.is_active, hyogo.prefecture, hyogo.parent) == (
        "兵庫県",
        False,
        None,
        None,
    )
    assert Municipality.objects.count() == 2


def test_loading_is_audited_in_the_platform_chain(db: None) -> None:
    """One ``municipality.load`` entry in the platform chain lists the created codes."""
    load("281000", "--activate")

    entry = AuditEntry.objects.get()
    assert (entry.chain, entry.action, entry.actor_label) == (
        PLATFORM_CHAIN,
        "municipality.load",
        "cli:municipalities",
    )
    assert entry.data == {"created": 2, "codes": ["280003", "281000"], "activate": True}


def test_a_ward_gets_its_city_as_parent(db: None) -> None:
    """東灘区 (28101, check digit 8) hangs below 神戸市, in 兵庫県; the city is created too."""
    # 6*2 + 5*8 + 4*1 + 3*0 + 2*1 = 58; 58 % 11 = 3; (11 - 3) % 10 = 8
    assert HIGASHINADA == "281018"

    load(HIGASHINADA)

    ward = by_code("281018")
    assert (ward.name, ward.is_active) == ("東灘区", False)
    assert (ward.parent.code, ward.parent.name) == ("281000", "神戸市")
    assert (ward.prefecture.code, ward.prefecture.name) == ("280003", "兵庫県")
    assert by_code("281000").parent == by_code("280003")


def test_a_town_in_a_district_gets_the_district_as_parent(db: None) -> None:
    """佐用町 belongs to 佐用郡, which belongs to 兵庫県."""
    load("285013", "--activate")

    sayo = by_code("285013")
    district = by_code("285005")
    assert (sayo.name, sayo.is_active) == ("佐用町", True)
    assert (sayo.parent, sayo.prefecture.code) == (district, "280003")
    assert (district.name, district.is_active) == ("佐用郡", False)
    assert (district.parent.code, district.prefecture.code) == ("280003", "280003")


def test_loading_twice_changes_nothing(db: None) -> None:
    """A second identical load neither changes rows nor writes an audit entry."""
    load("281000", "285013", "--activate")
    rows, audit = municipalities(), snapshot(AuditEntry.objects.all())

    output = load("281000", "285013", "--activate")

    assert output == "281000 神戸市 /281000/ (active)\n285013 佐用町 /285013/ (active)\n"
    assert municipalities() == rows
    assert snapshot(AuditEntry.objects.all()) == audit


def test_loading_again_keeps_a_chosen_slug(tenant_a: Tenant) -> None:
    """The kit renamed 神戸市's slug to kobe; reloading the code does not undo that."""
    rows = municipalities()
    load("281000", "--activate")
    assert municipalities() == rows
    assert by_code("281000").slug == "kobe"


def test_loading_without_activate_leaves_an_existing_municipality_served(db: None) -> None:
    """Loading without --activate never switches a served municipality off."""
    load("281000", "--activate")
    assert load("281000") == "281000 神戸市 /281000/ (active)\n"


def test_activate_switches_on_an_already_loaded_municipality(db: None) -> None:
    """--activate serves a municipality created earlier as a parent, and only that one."""
    load(HIGASHINADA)
    assert by_code("281000").is_active is False
    load("281000", "--activate")
    assert by_code("281000").is_active is True
    assert by_code("280003").is_active is False


def test_all_loads_every_body_of_the_bundled_list_inactive(db: None) -> None:
    """--all creates each of the 2,295 bodies (全国 excluded), none of them served."""
    output = load("--all")

    assert Municipality.objects.count() == BODIES_IN_LGCODE_CSV
    assert not Municipality.objects.filter(is_active=True).exists()
    assert output.splitlines()[0] == "010006 北海道 /010006/ (inactive)"
    assert output.splitlines()[-1] == f"... {BODIES_IN_LGCODE_CSV} municipalities in all"
    assert Municipality.objects.filter(prefecture__isnull=True).count() == 47
    assert by_code("281018").parent.code == "281000"
    assert AuditEntry.objects.get().data["created"] == BODIES_IN_LGCODE_CSV


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["281001"], "全国地方公共団体コードが正しくありません。入力内容を確認してください。"),
        (["281000", "28100"], "全国地方公共団体コードは6桁の数字で入力してください。"),
        (["281000", "999997"], "not in the bundled list: 999997"),
        ([], "give either CODE ... or --all"),
        (["281000", "--all"], "give either CODE ... or --all"),
    ],
    ids=["check-digit", "five-digits", "unknown-code", "nothing", "codes-and-all"],
)
def test_bad_arguments_are_refused_and_nothing_is_created(
    db: None, args: list[str], message: str
) -> None:
    """One bad code refuses the whole load, including the good codes given with it."""
    with pytest.raises(CommandError) as refused:
        load(*args)
    assert str(refused.value) == message
    assert not Municipality.objects.exists()
    assert not AuditEntry.objects.exists()


# --- model validation ------------------------------------------------------------------------


def test_a_code_with_a_wrong_check_digit_is_invalid(db: None) -> None:
    """full_clean names the code field with the check-digit message and its stable code."""
    municipality = Municipality(code="281001", name="神戸市", slug="kobe")
    with pytest.raises(ValidationError) as invalid:
        municipality.full_clean()
    assert invalid.value.message_dict == {
        "code": ["全国地方公共団体コードが正しくありません。入力内容を確認してください。"]
    }
    assert invalid.value.error_dict["code"][0].code == "lgcode_check_digit"


def test_a_valid_municipality_passes_validation(db: None) -> None:
    """A real code and an ordinary slug raise nothing."""
    Municipality(code="281000", name="神戸市", slug="kobe").full_clean()


@pytest.mark.parametrize("slug", ["admin", "api", "static", "staff", "media", "healthz", "i18n"])
def test_reserved_slugs_are_invalid(db: None, slug: str) -> None:
    """A municipality must not shadow /admin/, /static/, /staff/login/ and the like."""
    municipality = Municipality(code="281000", name="神戸市", slug=slug)
    with pytest.raises(ValidationError) as invalid:
        municipality.full_clean()
    assert invalid.value.message_dict == {"slug": ["このURL名は予約されているため使えません。"]}
    assert invalid.value.error_dict["slug"][0].code == "reserved_slug"


# --- memberships -----------------------------------------------------------------------------


def test_a_department_of_another_municipality_cannot_be_granted(
    tenant_a: Tenant, tenant_b: Tenant
) -> None:
    """Giving a 神戸市 role in a 佐用町 department is refused and writes nothing."""
    user = UserFactory()
    memberships, audit = snapshot(Membership.objects.all()), snapshot(AuditEntry.objects.all())

    with pytest.raises(MembershipError, match="department belongs to another municipality"):
        membership_grant(
            municipality=tenant_a.municipality,
            user=user,
            role=Role.CLERK,
            department=tenant_b.departments["welfare"],
            actor=AuditActor(label="test"),
        )

    assert snapshot(Membership.objects.all()) == memberships
    assert snapshot(AuditEntry.objects.all()) == audit


def test_granting_a_role_is_audited_once(db: None) -> None:
    """Granting the same role twice returns the same membership and logs one entry."""
    kobe = MunicipalityFactory(code="281000", name="神戸市", slug="kobe")
    user = UserFactory(username="tanaka")
    actor = AuditActor(label="test")

    first = membership_grant(
        municipality=kobe, user=user, role=Role.VIEWER, department=None, actor=actor
    )
    again = membership_grant(
        municipality=kobe, user=user, role=Role.VIEWER, department=None, actor=actor
    )

    assert first.pk == again.pk
    assert list(AuditEntry.objects.values_list("chain", "action", "data")) == [
        ("281000", "membership.grant", {"user": "tanaka", "role": "viewer", "department": None})
    ]
