"""The demo's contact points, set through the same service as the admin's settings page.

The numbers are invented for the demo: every one is distinct (no number serves two purposes)
and each carries the note 「デモ用の番号です」, shown beside it wherever it appears, so that no
one mistakes it for a real line. A real deployment enters its own on ``/<slug>/staff/settings/``.
"""

from __future__ import annotations

from django.db import transaction

from madoguchi.audit.services import AuditActor
from madoguchi.tenants.contacts import ContactInput, contact_point_save
from madoguchi.tenants.models import Department, Municipality

DEMO_NOTE = "デモ用の番号です"

# slug -> (key, name, phone, hours, department code or "")
DEMO_CONTACTS: dict[str, tuple[tuple[str, str, str, str, str], ...]] = {
    "kobe": (
        ("main", "神戸市役所 代表", "078-555-0100", "平日 8時45分〜17時30分", ""),
        ("urgent_health", "神戸市保健所 体調急変時の連絡先", "078-555-0101", "24時間", "hokenjo"),
        ("fever_consultation", "発熱等受診・相談センター", "078-555-0102", "24時間", "hokenjo"),
        ("sodai_gomi", "粗大ごみ受付センター", "078-555-0103", "月〜土 9時〜17時", "kankyo"),
        ("benefit_call_centre", "給付金コールセンター", "078-555-0104", "平日 9時〜17時", ""),
        ("kodomo_katei", "こども家庭センター", "078-555-0105", "平日 9時〜17時", "kodomo"),
        ("hoiku", "保育所の入所の問合せ", "078-555-0106", "平日 9時〜17時", "kodomo"),
        ("shisanzei", "資産税課", "078-555-0107", "平日 9時〜17時", "zeimu"),
        ("nozei", "納税課", "078-555-0108", "平日 9時〜17時", "zeimu"),
        ("kokuho", "国保年金医療課", "078-555-0109", "平日 9時〜17時", "kokuho"),
        (
            "seikatsu_shien",
            "くらし支援課 生活支援担当",
            "078-555-0110",
            "平日 9時〜17時",
            "fukushi",
        ),
        ("kankyo", "環境局 環境担当", "078-555-0111", "平日 9時〜17時", ""),
        ("doro", "建設局 道路管理担当", "078-555-0112", "平日 9時〜17時", "kensetsu"),
        ("koen", "建設局 公園担当", "078-555-0113", "平日 9時〜17時", ""),
        ("suido", "水道お客さまセンター", "078-555-0114", "平日 9時〜19時", ""),
        ("okuyami", "おくやみ窓口（予約）", "078-555-0115", "平日 9時〜17時", "shimin"),
    ),
    "sayo": (
        ("main", "佐用町役場 代表", "0790-55-0100", "平日 8時30分〜17時15分", ""),
        ("fever_consultation", "発熱等受診・相談センター", "0790-55-0102", "24時間", ""),
        ("sodai_gomi", "住民課 粗大ごみ受付", "0790-55-0103", "平日 9時〜17時", "jumin"),
        ("benefit_call_centre", "給付金の問合せ窓口", "0790-55-0104", "平日 9時〜17時", ""),
        ("kodomo_katei", "健康福祉課 子育て相談", "0790-55-0105", "平日 9時〜17時", ""),
        ("hoiku", "健康福祉課 保育担当", "0790-55-0106", "平日 9時〜17時", ""),
        ("shisanzei", "税務課 固定資産税担当", "0790-55-0107", "平日 9時〜17時", "zeimu"),
        ("nozei", "税務課 収納担当", "0790-55-0108", "平日 9時〜17時", ""),
        ("kokuho", "住民課 国保担当", "0790-55-0109", "平日 9時〜17時", ""),
        ("seikatsu_shien", "健康福祉課 生活支援担当", "0790-55-0110", "平日 9時〜17時", ""),
        ("kankyo", "住民課 環境担当", "0790-55-0111", "平日 9時〜17時", ""),
        ("doro", "建設課 道路担当", "0790-55-0112", "平日 9時〜17時", "kensetsu"),
        ("koen", "建設課 公園担当", "0790-55-0113", "平日 9時〜17時", ""),
        ("suido", "上下水道課", "0790-55-0114", "平日 9時〜17時", ""),
        ("okuyami", "住民課 おくやみ窓口（予約）", "0790-55-0115", "平日 9時〜17時", ""),
    ),
    "hyogo": (
        (
            "urgent_health",
            "龍野健康福祉事務所 体調急変時の連絡先",
            "0791-55-0101",
            "24時間",
            "tatsuno-hc",
        ),
    ),
}


@transaction.atomic
def contacts_demo_load() -> int:
    """Set the demo municipalities' contact points (idempotent); return how many exist."""
    actor = AuditActor(label="demo")
    count = 0
    for slug, rows in DEMO_CONTACTS.items():
        municipality = Municipality.objects.filter(slug=slug).first()
        if municipality is None:
            continue
        departments = {d.code: d for d in Department.objects.filter(municipality=municipality)}
        for key, name, phone, hours, department in rows:
            contact_point_save(
                municipality=municipality,
                key=key,
                data=ContactInput(
                    name=name,
                    phone=phone,
                    hours=hours,
                    note=DEMO_NOTE,
                    department=departments.get(department),
                ),
                actor=actor,
            )
            count += 1
    return count
