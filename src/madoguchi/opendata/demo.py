"""Demo open data: four months of a winter wave for 神戸市 and 佐用町, the same on every run.

The figures are made up (seeded, deterministic) with the shape real ones had in 2020–21: a
wave peaking in mid-January, fewer reports on Mondays, a city with about a hundred cases a day
at the peak and a town with a handful a week. They are imported as CSV files through the
ordinary import, so the demo also exercises it. A dataset that already has records is left
alone, so loading twice changes nothing.
"""

from __future__ import annotations

import csv
import datetime
import io
import math
import random
from collections.abc import Iterator

from madoguchi.audit.services import AuditActor
from madoguchi.opendata import services
from madoguchi.opendata.exports import place_names
from madoguchi.opendata.formats import FORMATS
from madoguchi.opendata.models import DatasetUpdate, Licence
from madoguchi.tenants.models import Municipality

__all__ = ["demo_files", "opendata_demo_load"]

START = datetime.date(2020, 11, 1)
DAYS = 120
PEAK = datetime.date(2021, 1, 12)
KOBE_WARDS = ("東灘区", "灘区", "中央区", "兵庫区", "北区", "長田区", "須磨区", "垂水区", "西区")
AGES = (
    ("10歳未満", 4),
    ("10代", 7),
    ("20代", 20),
    ("30代", 14),
    ("40代", 14),
    ("50代", 13),
    ("60代", 9),
    ("70代", 8),
    ("80代", 7),
    ("90歳以上", 3),
    ("", 1),
)
CONDITIONS = (("軽症", 70), ("中等症", 14), ("無症状", 10), ("重症", 4), ("死亡", 1), ("", 1))
SYMPTOMS = ("発熱", "咳", "倦怠感", "咽頭痛", "頭痛", "味覚障害", "嗅覚障害")
JOBS = ("", "", "", "会社員", "自営業", "学生", "無職", "医療従事者", "介護職員", "公務員")


def _wave(day: datetime.date, peak: float) -> float:
    """Expected new cases: a baseline and a bell around PEAK, lower on Mondays."""
    offset = (day - PEAK).days
    level = peak * (0.12 + 0.88 * math.exp(-((offset / 24) ** 2)))
    return level * (0.6 if day.weekday() == 0 else 1.0)


def _poisson(rng: random.Random, mean: float) -> int:
    if mean > 30:
        return max(0, round(rng.gauss(mean, math.sqrt(mean))))
    limit, k, product = math.exp(-mean), 0, rng.random()
    while product > limit:
        k += 1
        product *= rng.random()
    return k


def _weighted(rng: random.Random, options: tuple[tuple[str, int], ...]) -> str:
    return rng.choices([o for o, _w in options], weights=[w for _o, w in options])[0]


def _csv(rows: Iterator[list[str]], dataset: str) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(FORMATS[dataset].names)
    writer.writerows(rows)
    return buffer.getvalue().encode("utf-8-sig")


def demo_files(
    municipality: Municipality, *, peak: float, tests: int, calls: int, seed: int
) -> dict[str, bytes]:
    rng = random.Random(seed)  # noqa: S311 - made-up demo figures, not secrets
    prefecture, city = place_names(municipality)
    place = [municipality.code, prefecture, city]
    days = [START + datetime.timedelta(days=n) for n in range(DAYS)]
    cases = [_poisson(rng, _wave(day, peak)) for day in days]
    last = days[-1]
    patients: list[list[str]] = []
    for day, n in zip(days, cases, strict=True):
        for _ in range(n):
            onset = day - datetime.timedelta(days=rng.randint(1, 6))
            symptoms = ";".join(rng.sample(SYMPTOMS, rng.randint(0, 3)))
            ward = rng.choice(KOBE_WARDS) if municipality.code == "281000" else ""
            patients.append(
                [
                    str(len(patients) + 1),
                    *place,
                    day.isoformat(),
                    onset.isoformat() if rng.random() < 0.8 else "",
                    f"{city}{ward}",
                    _weighted(rng, AGES),
                    _weighted(rng, (("男性", 52), ("女性", 47), ("", 1))),
                    rng.choice(JOBS),
                    _weighted(rng, CONDITIONS),
                    symptoms,
                    "1" if rng.random() < 0.01 else "0",
                    "1" if (last - day).days > 14 else "0",
                    "",
                ]
            )
    weekly = [0.55 if d.weekday() == 6 else 0.75 if d.weekday() == 5 else 1.0 for d in days]
    tested = [
        max(n, round((n / 0.12 + tests) * w * rng.uniform(0.9, 1.1)))
        for n, w in zip(cases, weekly, strict=True)
    ]
    negatives = [_poisson(rng, peak * 0.2) for _ in days]
    consultations = [
        _poisson(rng, (calls + _wave(d, peak) * 4) * w) for d, w in zip(days, weekly, strict=True)
    ]

    def daily(values: list[int]) -> Iterator[list[str]]:
        return ([d.isoformat(), *place, str(v), ""] for d, v in zip(days, values, strict=True))

    return {
        "patients": _csv(iter(patients), "patients"),
        "test_people": _csv(daily(tested), "test_people"),
        "test_count": _csv(
            daily([round(t * rng.uniform(1.02, 1.08)) for t in tested]), "test_count"
        ),
        "confirm_negative": _csv(daily(negatives), "confirm_negative"),
        "call_center": _csv(daily(consultations), "call_center"),
    }


def opendata_demo_load() -> None:
    """Give the demo municipalities their open data (idempotent)."""
    actor = AuditActor(label="demo")
    for code, peak, tests, calls, licence in (
        ("281000", 110.0, 600, 350, Licence.CC_BY_4_0),
        ("285013", 0.6, 6, 3, Licence.PDL_1_0),
    ):
        municipality = Municipality.objects.select_related("prefecture", "parent").get(code=code)
        done = set(
            DatasetUpdate.objects.filter(municipality=municipality).values_list(
                "dataset", flat=True
            )
        )
        files = demo_files(municipality, peak=peak, tests=tests, calls=calls, seed=int(code))
        for dataset, data in files.items():
            if dataset in done:
                continue
            report = services.dataset_import(
                municipality=municipality,
                dataset=dataset,
                data=data,
                actor=actor,
                filename=f"demo_{dataset}.csv",
            )
            assert report.imported, report.lines()
        services.publisher_licence_set(municipality=municipality, licence=licence, actor=actor)
        services.procedure_stats_refresh(municipality=municipality)
