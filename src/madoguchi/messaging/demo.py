"""Demo messaging: the topics residents choose, the areas they live in and two templates.

Set through the same services as the admin's setup pages, so a demo city looks like one a
real admin set up. Quiet hours are left at the app's defaults (21:00–8:00).
"""

from __future__ import annotations

from django.db import transaction

from madoguchi.audit.services import AuditActor
from madoguchi.messaging import selectors, services
from madoguchi.tenants.models import Municipality

# (code, name, English name, urgent)
DEMO_TOPICS: tuple[tuple[str, str, str, bool], ...] = (
    ("kosodate", "子育て", "Childcare", False),
    ("bosai", "防災", "Disaster prevention", True),
    ("gomi", "ごみ", "Waste and recycling", False),
    ("event", "イベント", "Events", False),
)

# slug -> (code, name, English name): Kobe's nine wards, Sayo's school districts.
DEMO_AREAS: dict[str, tuple[tuple[str, str, str], ...]] = {
    "kobe": (
        ("higashinada", "東灘区", "Higashinada Ward"),
        ("nada", "灘区", "Nada Ward"),
        ("chuo", "中央区", "Chuo Ward"),
        ("hyogo", "兵庫区", "Hyogo Ward"),
        ("kita", "北区", "Kita Ward"),
        ("nagata", "長田区", "Nagata Ward"),
        ("suma", "須磨区", "Suma Ward"),
        ("tarumi", "垂水区", "Tarumi Ward"),
        ("nishi", "西区", "Nishi Ward"),
    ),
    "sayo": (
        ("sayo", "佐用校区", "Sayo school district"),
        ("kozuki", "上月校区", "Kozuki school district"),
        ("nanko", "南光校区", "Nanko school district"),
        ("mikazuki", "三日月校区", "Mikazuki school district"),
    ),
}

# (topic code, name, subject ja, body ja, subject en, body en)
DEMO_TEMPLATES: tuple[tuple[str, str, str, str, str, str], ...] = (
    (
        "bosai",
        "避難所の開設",
        "【{municipality}】{area}に避難所を開設しました",
        "{municipality}からのお知らせです。\n"
        "大雨のため、{area}の避難所を開設しました。"
        "危険を感じたら、早めに避難してください。",
        "[{municipality}] Evacuation shelters open in {area}",
        "A notice from {municipality}.\n"
        "Because of heavy rain, the evacuation shelters in {area} are open. "
        "If you feel in danger, evacuate early.",
    ),
    (
        "gomi",
        "年末年始のごみ収集",
        "【{municipality}】年末年始のごみ収集日のお知らせ",
        "{municipality}からのお知らせです。\n"
        "12月31日から1月3日まではごみの収集を休みます。"
        "1月4日から通常どおり収集します。",
        "[{municipality}] Waste collection over the New Year holidays",
        "A notice from {municipality}.\n"
        "There is no waste collection from 31 December to 3 January. "
        "Collection resumes as usual on 4 January.",
    ),
)


@transaction.atomic
def messaging_demo_load(*, slugs: tuple[str, ...] = ("kobe", "sayo")) -> None:
    """Idempotent: what exists (by code, templates by name) is kept as an admin left it."""
    actor = AuditActor(label="demo")
    for municipality in Municipality.objects.filter(slug__in=slugs):
        topics = {t.code: t for t in selectors.topic_list(municipality=municipality)}
        for order, (code, name, name_en, urgent) in enumerate(DEMO_TOPICS, start=1):
            if code not in topics:
                topics[code] = services.topic_save(
                    municipality=municipality,
                    code=code,
                    name=name,
                    name_en=name_en,
                    urgent=urgent,
                    order=order,
                    actor=actor,
                )
        areas = set(selectors.area_list(municipality=municipality).values_list("code", flat=True))
        for order, (code, name, name_en) in enumerate(DEMO_AREAS.get(municipality.slug, ())):
            if code in areas:
                continue
            services.area_save(
                municipality=municipality,
                code=code,
                name=name,
                name_en=name_en,
                order=order + 1,
                actor=actor,
            )
        existing = set(
            selectors.template_list(municipality=municipality).values_list("name", flat=True)
        )
        for topic, name, subject_ja, body_ja, subject_en, body_en in DEMO_TEMPLATES:
            if name in existing:
                continue
            services.template_save(
                municipality=municipality,
                name=name,
                topic=topics[topic],
                subject_ja=subject_ja,
                body_ja=body_ja,
                subject_en=subject_en,
                body_en=body_en,
                actor=actor,
            )
