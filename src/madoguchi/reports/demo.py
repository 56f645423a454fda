"""Demo report categories and areas, each category routed to one of the demo's departments.

Reports has no setup service yet (categories are set up by the operator); the demo writes the
rows and audits them as such a service would. Idempotent: what exists is kept.
"""

from __future__ import annotations

from django.db import transaction

from madoguchi.audit.services import AuditActor, audit_event
from madoguchi.reports.models import ReportArea, ReportCategory
from madoguchi.tenants.models import Department, Municipality

# slug -> (code, name, English name, department code)
DEMO_CATEGORIES: dict[str, tuple[tuple[str, str, str, str], ...]] = {
    "kobe": (
        ("doro", "道路の損傷", "Damaged road or pavement", "kensetsu"),
        ("koen", "公園の遊具", "Broken playground equipment", "kensetsu"),
        ("gaito", "街灯の故障", "Street light out", "kensetsu"),
        ("fuho-toki", "不法投棄", "Illegal dumping", "kankyo"),
    ),
    "sayo": (
        ("doro", "道路の損傷", "Damaged road or pavement", "kensetsu"),
        ("koen", "公園の遊具", "Broken playground equipment", "kensetsu"),
        ("gaito", "街灯の故障", "Street light out", "kensetsu"),
        ("fuho-toki", "不法投棄", "Illegal dumping", "jumin"),
    ),
}

# slug -> area names: Kobe's nine wards, Sayo's school districts.
DEMO_REPORT_AREAS: dict[str, tuple[str, ...]] = {
    "kobe": ("東灘区", "灘区", "中央区", "兵庫区", "北区", "長田区", "須磨区", "垂水区", "西区"),
    "sayo": ("佐用校区", "上月校区", "南光校区", "三日月校区"),
}


@transaction.atomic
def reports_demo_load() -> None:
    actor = AuditActor(label="demo")
    for slug, categories in DEMO_CATEGORIES.items():
        municipality = Municipality.objects.filter(slug=slug).first()
        if municipality is None:
            continue
        departments = {d.code: d for d in Department.objects.filter(municipality=municipality)}
        for code, name, name_en, department in categories:
            category, created = ReportCategory.objects.get_or_create(
                municipality=municipality,
                code=code,
                defaults={"name": name, "name_en": name_en, "department": departments[department]},
            )
            if created:
                audit_event(
                    municipality=municipality,
                    action="reports.category.create",
                    actor=actor,
                    obj=category,
                    data={"code": code, "department": department},
                )
        known = set(
            ReportArea.objects.filter(municipality=municipality).values_list("name", flat=True)
        )
        for name in DEMO_REPORT_AREAS.get(slug, ()):
            if name in known:
                continue
            area = ReportArea.objects.create(municipality=municipality, name=name)
            audit_event(
                municipality=municipality,
                action="reports.area.create",
                actor=actor,
                obj=area,
                data={"name": name},
            )
