"""The demo knowledge base and synonyms, filled in for each demo municipality.

Plain data with no database access: the demo loader stores it, and the evaluation command and
the benchmark build indexes from it directly.
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib import resources
from typing import Any

import yaml

__all__ = ["DEMO_PROFILES", "DEMO_SYNONYMS", "DemoProfile", "demo_faq_rows"]


@dataclass(frozen=True, slots=True)
class DemoProfile:
    slug: str
    name: str
    office: str
    counter: str
    site: str
    departments: dict[str, tuple[str, str]]  # role key -> (department code, name)


DEMO_PROFILES = {
    "kobe": DemoProfile(
        slug="kobe",
        name="神戸市",
        office="市役所",
        counter="各区役所の市民課",
        site="https://www.city.kobe.lg.jp",
        departments={
            "shimin": ("shimin", "市民課"),
            "kodomo": ("kodomo", "こども家庭局 こども企画育成部"),
            "kankyo": ("kankyo", "環境局 事業系廃棄物対策部"),
            "fukushi": ("fukushi", "福祉局 くらし支援課"),
            "hokenjo": ("hokenjo", "健康局 保健所"),
            "zeimu": ("zeimu", "行財政局 税務部"),
            "kokuho": ("kokuho", "福祉局 国保年金医療課"),
            "bosai": ("bosai", "危機管理室"),
            "kensetsu": ("kensetsu", "建設局"),
        },
    ),
    "sayo": DemoProfile(
        slug="sayo",
        name="佐用町",
        office="町役場",
        counter="町役場の住民課",
        site="https://www.town.sayo.lg.jp",
        departments={
            "shimin": ("jumin", "住民課"),
            "kodomo": ("kenko-fukushi", "健康福祉課"),
            "kankyo": ("jumin", "住民課"),
            "fukushi": ("kenko-fukushi", "健康福祉課"),
            "hokenjo": ("kenko-fukushi", "健康福祉課"),
            "zeimu": ("zeimu", "税務課"),
            "kokuho": ("jumin", "住民課"),
            "bosai": ("somu", "総務課 防災担当"),
            "kensetsu": ("kensetsu", "建設課"),
        },
    ),
}

# Equivalent words a municipality would define; the demo loads these for both towns.
DEMO_SYNONYMS: tuple[tuple[str, ...], ...] = (
    ("マイナンバー", "個人番号", "マイナ"),
    ("国民健康保険", "国保"),
    ("粗大ごみ", "大型ごみ"),
    ("住民税", "市県民税", "市民税", "町民税"),
    ("保育所", "保育園"),
    ("学童保育", "放課後児童クラブ", "学童"),
    ("罹災証明", "被災証明"),
    ("母子健康手帳", "母子手帳"),
    ("身体障害者手帳", "身障者手帳"),
    ("子ども", "子供", "こども"),
)


def _fill(text: str, profile: DemoProfile) -> str:
    return (
        text.replace("{name}", profile.name)
        .replace("{office}", profile.office)
        .replace("{counter}", profile.counter)
        .replace("{site}", profile.site)
    )


def _english_template() -> dict[str, dict[str, Any]]:
    """The English text of the demo entries by code (data/demo_faq_en.yaml)."""
    text = resources.files("madoguchi.consultation.data").joinpath("demo_faq_en.yaml")
    raw = yaml.safe_load(text.read_text("utf-8"))
    assert isinstance(raw, dict)
    return {str(code): item for code, item in raw.items() if isinstance(item, dict)}


def demo_faq_rows(profile: DemoProfile) -> list[dict[str, Any]]:
    """The demo entries for ``profile`` as import rows (the CSV columns, parsed)."""
    text = resources.files("madoguchi.consultation.data").joinpath("demo_faq.yaml")
    raw = yaml.safe_load(text.read_text("utf-8"))
    assert isinstance(raw, list)
    english = _english_template()
    rows = []
    for item in raw:
        assert isinstance(item, dict)
        en = english.get(str(item["code"]), {})
        department_code, _ = profile.departments[str(item["department"])]
        rows.append(
            {
                "code": str(item["code"]),
                "category": str(item["category"]),
                "department": department_code,
                "question": _fill(str(item["question"]), profile),
                "alternatives": [_fill(str(a), profile) for a in item.get("alternatives", [])],
                "answer": _fill(str(item["answer"]), profile),
                "direct_answer": _fill(str(item.get("direct_answer", "")), profile),
                "question_en": str(en.get("question", "")),
                "alternatives_en": [str(a) for a in en.get("alternatives", [])],
                "answer_en": _fill(str(en.get("answer", "")), profile),
                "direct_answer_en": _fill(str(en.get("direct_answer", "")), profile),
            }
        )
    return rows
