"""``madoguchi opendata`` on the command line, and the demo's open data."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from madoguchi.opendata.demo import demo_files, opendata_demo_load
from madoguchi.opendata.exports import export_csv
from madoguchi.opendata.models import DailyCount, PatientRecord, Publisher
from tests.isolation import Tenant, snapshot
from tests.opendata.conftest import kobe_row, make_csv


def run(*args: str) -> str:
    out = io.StringIO()
    call_command("opendata", *args, stdout=out)
    return out.getvalue()


def test_import_then_export_through_the_command(tenant_a: Tenant, tmp_path: Path) -> None:
    source = tmp_path / "281000_kobe_covid19_call_center.csv"
    source.write_bytes(make_csv([kobe_row("2020-04-01", "3")], newline="\n"))
    assert run("import", "--municipality", "281000", "--kind", "call_center", str(source)) == (
        "取り込みました: 追加 1 件、更新 0 件、変更なし 0 件。\n文字コード: UTF-8（BOM付き）\n"
    )
    target = tmp_path / "out.csv"
    run("export", "--municipality", "281000", "--kind", "call_center", "-o", str(target))
    assert target.read_bytes() == export_csv(tenant_a.municipality, "call_center")
    run(
        "export", "--municipality", "281000", "--kind", "call_center", "--no-bom", "-o", str(target)
    )
    assert target.read_bytes() == export_csv(tenant_a.municipality, "call_center")[3:]


def test_a_refused_import_prints_the_report_and_fails(tenant_a: Tenant, tmp_path: Path) -> None:
    source = tmp_path / "bad.csv"
    source.write_bytes(make_csv([kobe_row("2020-04-01", "3"), kobe_row("2020-04-31", "1")]))
    out = io.StringIO()
    with pytest.raises(CommandError, match="取り込みませんでした。問題のある行が1行あります。"):
        call_command(
            "opendata",
            "import",
            "--municipality",
            "281000",
            "--kind",
            "call_center",
            str(source),
            stdout=out,
        )
    assert "3行目: 「受付_年月日」の「2020-04-31」は存在しない日付です。" in out.getvalue()
    assert not DailyCount.objects.exists()
    assert "追加 1 件" in run(
        "import", "--municipality", "281000", "--kind", "call_center", str(source), "--good-rows"
    )


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--municipality", "281001"], "--municipality"),
        (["--municipality", "131016"], "no municipality 131016 here"),
    ],
)
def test_the_command_names_a_bad_municipality(
    db: None, tmp_path: Path, args: list[str], message: str
) -> None:
    source = tmp_path / "a.csv"
    source.write_bytes(b"x")
    with pytest.raises(CommandError, match=message):
        call_command("opendata", "import", *args, "--kind", "call_center", str(source))


def test_refresh_and_licence_commands(tenant_a: Tenant) -> None:
    assert run("refresh", "--municipality", "281000") == "281000 神戸市: 0 rows changed\n"
    assert run("licence", "--municipality", "281000", "CC0-1.0") == "licence set\n"
    assert run("licence", "--municipality", "281000", "CC0-1.0") == "licence unchanged\n"


def test_the_demo_data_is_deterministic_realistic_and_idempotent(
    tenant_a: Tenant, tenant_b: Tenant
) -> None:
    opendata_demo_load()
    kobe, sayo = tenant_a.municipality, tenant_b.municipality
    before = (
        snapshot(PatientRecord.objects.all()),
        snapshot(DailyCount.objects.all()),
        snapshot(Publisher.objects.all()),
    )
    opendata_demo_load()
    after = (
        snapshot(PatientRecord.objects.all()),
        snapshot(DailyCount.objects.all()),
        snapshot(Publisher.objects.all()),
    )
    assert after == before
    kobe_cases = PatientRecord.objects.filter(municipality=kobe).count()
    sayo_cases = PatientRecord.objects.filter(municipality=sayo).count()
    assert 3000 < kobe_cases < 8000
    assert 5 < sayo_cases < 100
    for dataset in ("test_people", "test_count", "confirm_negative", "call_center"):
        assert DailyCount.objects.filter(municipality=kobe, kind=dataset).count() == 120
    # The same seed gives the same files every time.
    assert demo_files(kobe, peak=110.0, tests=600, calls=350, seed=1) == demo_files(
        kobe, peak=110.0, tests=600, calls=350, seed=1
    )
    first = PatientRecord.objects.filter(municipality=kobe).order_by("published_on").first()
    assert first is not None
    assert str(first.published_on) == "2020-11-01"
