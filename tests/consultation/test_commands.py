"""``madoguchi consultation`` import, export, scenario and reindex."""

from __future__ import annotations

from io import StringIO
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from madoguchi.consultation.models import FaqEntry, Scenario
from madoguchi.consultation.retrieval.embedding import embedders
from madoguchi.consultation.scenarios import bundled_scenario
from tests.isolation import Tenant

HEADER = "管理番号,分類,担当部署コード,質問,言い換え,回答,掲載開始日,掲載終了日,公開\n"


def test_import_export_and_reindex(tenant_a: Tenant, tmp_path: Path) -> None:
    source = tmp_path / "faq.csv"
    source.write_text(HEADER + "a,ごみ,,ごみの日,,月曜です,,,1\n", encoding="cp932")
    out = StringIO()
    call_command("consultation", "import", "kobe", str(source), stdout=out)
    assert out.getvalue().strip() == "created 1, updated 0, unchanged 0"
    target = tmp_path / "out.csv"
    call_command("consultation", "export", "kobe", str(target), "--encoding", "cp932")
    assert "ごみの日" in target.read_bytes().decode("cp932")
    out = StringIO()
    with embedders.use(None):
        call_command("consultation", "reindex", "kobe", stdout=out)
    assert out.getvalue().startswith("kobe: 1 entries, lexical,")


def test_broken_files_are_reported_as_command_errors(tenant_a: Tenant, tmp_path: Path) -> None:
    source = tmp_path / "faq.csv"
    source.write_text(HEADER + "bad code,ごみ,,q,,a,,,1\n", encoding="utf-8")
    with pytest.raises(CommandError, match="2行目：管理番号は60文字以内"):
        call_command("consultation", "import", "kobe", str(source))
    assert not FaqEntry.objects.exists()
    scenario = tmp_path / "broken.yaml"
    scenario.write_text(
        bundled_scenario("fever-triage").replace("next: no-fever", "next: nowhere"), "utf-8"
    )
    with pytest.raises(CommandError, match="leads to 'nowhere'"):
        call_command("consultation", "scenario", "kobe", str(scenario))
    assert not Scenario.objects.exists()
    with pytest.raises(CommandError, match="no municipality with the slug 'nowhere'"):
        call_command("consultation", "import", "nowhere", str(source))
    with pytest.raises(CommandError, match=r"missing\.csv"):
        call_command("consultation", "import", "kobe", str(tmp_path / "missing.csv"))
