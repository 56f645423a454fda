"""Benchmark: the national scale model on one PostgreSQL deployment.

    .venv/bin/python bench/scale_model.py [--scale 0.02] [--rounds 3] [--requests 30]
                                          [--database-url postgres://user@host:port/db]

Builds two deployments in two databases of one PostgreSQL server (a private cluster on a free
loopback port unless ``--database-url`` names a server where the user may create databases):

* **national**: all 1,788 bodies of the bundled code list (1,741 municipalities and 47
  prefectures, loaded by the product's own ``municipalities_load``), ``5,000,000 × scale``
  applications spread by population over the 1,741 municipalities, and ``100,000 × scale``
  active surveillance cases at the health centres of the prefectures, the designated cities
  and Tokyo's special wards, spread by the population each serves;
* **pair**: only the two measured bodies (神戸市, a large city, and 佐用町, a small town) holding
  exactly the same data as in the national deployment.

The two measured bodies always hold their full-size share (``--scale`` thins the other 1,786
bodies only), so the figures are for realistic tenants.

There is no population table in the repository. The model is by kind, from the code list:
designated city (a city with wards) 1,380,000; Tokyo special ward 420,000; other city 98,000;
town 15,000; village 4,000 (about 125 million in all, close to Japan's total). It is stated
in the output.

Generation is by templates: a few rows per body are written through the ORM (so the
personal fields go through the product's encryption once per template) and then copied in
PostgreSQL with ``INSERT ... SELECT ... generate_series``, with fresh receipt numbers and
submission times.

Measured in-process through Django's test Client, for each body and each deployment, in
``--rounds`` alternating rounds (so that the machine's load drifts over both alike):
status lookup (``POST /api/v1/<slug>/status``), submission (``POST /api/v1/<slug>/procedures/
jido-teate/applications``), the staff queue (first page of a clerk's list) and the dashboard
(Django's cache cleared before each request, so the page is rendered from the database).
Prints requests/s and p50/p99 per figure and the ratio national/pair of requests/s (goal
>= 0.9: adding tenants must not slow a tenant down). Stops by itself; the cluster (or the
two databases) is removed at the end. Not part of the test suite.
"""

from __future__ import annotations

import argparse
import datetime
import os
import platform
import random
import shutil
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.servers import postgres_server  # noqa: E402

APPLICATIONS = 5_000_000
CASES = 100_000
TARGET_RATIO = 0.9
LARGE = ("281000", "kobe", "Kobe")  # 神戸市, a designated city
SMALL = ("285013", "sayo", "Sayo")  # 佐用町, a town
LOAD_PROCEDURE = "teigaku-kyufukin"
SUBMIT_PROCEDURE = "jido-teate"
TEMPLATES = 4  # ORM-written (encrypted) template applications per body
LOOKUPS = 40  # applications per measured body with a known lookup secret
POPULATION = {  # the stated model, by kind
    "designated city": 1_380_000,
    "special ward": 420_000,
    "city": 98_000,
    "town": 15_000,
    "village": 4_000,
}
# The six villages on the islands Japan claims but does not administer (codes 01695-01700)
# are in the code list; they are not among the 1,741 municipalities.
NOT_ADMINISTERED = {"01695", "01696", "01697", "01698", "01699", "01700"}
JST = datetime.timezone(datetime.timedelta(hours=9))


def log(message: str) -> None:
    print(f"[{datetime.datetime.now(tz=JST):%H:%M:%S}] {message}", flush=True)


def _load() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


# --- the population model ---------------------------------------------------------------------


@dataclass(frozen=True)
class Body:
    code: str
    name: str
    kind: str  # a key of POPULATION, or "prefecture"
    prefecture: str  # the prefecture's code

    @property
    def population(self) -> int:
        return POPULATION.get(self.kind, 0)


def bodies() -> list[Body]:
    """The 1,788 bodies of the bundled code list, each with its kind."""
    from madoguchi.tenants.services import lgcode_rows

    table = lgcode_rows()
    has_wards = {r.parent_code for r in table.values() if r.name.endswith("区") and r.parent_code}
    result: list[Body] = []
    for row in table.values():
        pref = row.code[:2] + "000"
        pref_code = next(c for c in table if c.startswith(pref))
        if row.code[2:5] == "000":
            result.append(Body(row.code, row.name, "prefecture", row.code))
            continue
        if row.code[:5] in NOT_ADMINISTERED:
            continue
        parent = table.get(row.parent_code or "")
        last = row.name[-1]
        if last == "市":
            kind = "designated city" if row.code in has_wards else "city"
        elif last == "区" and parent is not None and parent.name.endswith("特別区部"):
            kind = "special ward"
        elif last == "町":
            kind = "town"
        elif last == "村":
            kind = "village"
        else:  # districts, administrative wards, sub-prefectural offices: not bodies
            continue
        result.append(Body(row.code, row.name, kind, pref_code))
    return result


def shares(population: dict[str, int], total: int) -> dict[str, int]:
    """``total`` split by population (largest remainders), by code."""
    whole = sum(population.values())
    exact = {code: total * p / whole for code, p in population.items()}
    result = {code: int(x) for code, x in exact.items()}
    rest = total - sum(result.values())
    for code in sorted(exact, key=lambda c: exact[c] - result[c], reverse=True)[:rest]:
        result[code] += 1
    return result


@dataclass
class Plan:
    applications: dict[str, int]  # by body code
    cases: dict[str, int]  # by code of the body running the health centre


def plan(all_bodies: list[Body], scale: float) -> Plan:
    municipalities = {b.code: b.population for b in all_bodies if b.kind != "prefecture"}
    full = shares(municipalities, APPLICATIONS)
    applications = {code: round(n * scale) for code, n in full.items()}
    served: dict[str, int] = {}
    for b in all_bodies:
        if b.kind in {"designated city", "special ward"}:
            served[b.code] = served.get(b.code, 0) + b.population
        elif b.kind != "prefecture":
            served[b.prefecture] = served.get(b.prefecture, 0) + b.population
    full_cases = shares(served, CASES)
    cases = {code: round(n * scale) for code, n in full_cases.items()}
    for code, _slug, _name in (LARGE, SMALL):  # the measured bodies at full size
        applications[code] = full[code]
        if code in full_cases:
            cases[code] = full_cases[code]
    return Plan(applications, cases)


# --- the database ----------------------------------------------------------------------------


def with_database(url: str, name: str) -> str:
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, f"/{name}", parts.query, parts.fragment))


def use_database(name: str) -> None:
    """Point Django's default connection at database ``name`` (and forget cached objects)."""
    from django.core.cache import cache
    from django.db import connection

    connection.close()
    connection.settings_dict["NAME"] = name
    cache.clear()


def admin_sql(statement: str) -> None:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(statement)


# --- generation ------------------------------------------------------------------------------


@dataclass
class Tenant:
    code: str
    slug: str
    name: str
    clerk_client: Any = None
    lookups: list[tuple[str, str]] = field(default_factory=list)


def _answers(index: int) -> dict[str, Any]:
    surnames = ["山田", "田中", "鈴木", "佐藤", "高橋", "伊藤", "渡辺", "中村"]
    given = ["太郎", "花子", "一郎", "恵子", "健", "由美"]
    name = f"{surnames[index % len(surnames)]} {given[index % len(given)]}"
    return {
        "name": name,
        "name_kana": "ヤマダ タロウ",
        "birth_date": f"{1940 + index % 60}-{1 + index % 12:02d}-{1 + index % 28:02d}",
        "address": f"加納町{1 + index % 9}-{index % 50}",
        "postal_code": "6508570",
        "phone": "0783318181",
        "email": None,
        "members": [],
        "account": {
            "bank_code": "0001",
            "branch_code": "001",
            "account_type": "普通",
            "account_number": f"{index % 10_000_000:07d}",
            "holder_name": "ﾔﾏﾀﾞ ﾀﾛｳ",
        },
        "agreement": True,
    }


def populate(all_bodies: list[Body], the_plan: Plan, only: set[str] | None) -> list[Tenant]:
    """Migrate and fill the current database; ``only`` limits the bodies holding data."""
    from django.core.management import call_command
    from django.db import connection, transaction
    from tests.isolation import make_tenant, signed_in_client
    from tests.procedures.backoffice_fixtures import publish_catalogue

    from bench.status_and_submit import secret_for
    from madoguchi.audit.services import AuditActor
    from madoguchi.core.japanese import normalize_for_search
    from madoguchi.procedures.models import Application, Procedure, ProcedureVersion
    from madoguchi.procedures.receipts import lookup_secret_hash, receipt_number_new
    from madoguchi.surveillance.models import Case, HealthCentre
    from madoguchi.surveillance.setup import health_centre_ensure
    from madoguchi.tenants.models import Department, Municipality
    from madoguchi.tenants.services import municipalities_load

    actor = AuditActor(label="bench")
    call_command("migrate", verbosity=0)
    tenants: list[Tenant] = []
    for code, slug, name in (LARGE, SMALL):
        kit = make_tenant(code, slug)
        publish_catalogue(kit.municipality, LOAD_PROCEDURE, "welfare")
        publish_catalogue(kit.municipality, SUBMIT_PROCEDURE, "welfare")
        tenants.append(Tenant(code, slug, name, clerk_client=signed_in_client(kit.staff["clerk"])))
    if only is None:
        municipalities_load(codes=[b.code for b in all_bodies], activate=True, actor=actor)
    holding = [b for b in all_bodies if only is None or b.code in only]
    munis = {m.code: m for m in Municipality.objects.filter(code__in=[b.code for b in holding])}

    # Every body holding data gets its own department, procedure and version (cloned rows).
    model = Procedure.objects.select_related("current_version", "department").get(
        municipality__code=LARGE[0], code=LOAD_PROCEDURE
    )
    template_version = model.current_version
    assert template_version is not None
    with transaction.atomic():
        missing = [m for m in munis.values() if m.code not in {LARGE[0], SMALL[0]}]
        Department.objects.bulk_create(
            [Department(municipality=m, code="welfare", name="福祉課") for m in missing]
        )
        departments = {d.municipality_id: d for d in Department.objects.filter(code="welfare")}
        Procedure.objects.bulk_create(
            [
                Procedure(municipality=m, code=LOAD_PROCEDURE, department=departments[m.pk])
                for m in missing
            ]
        )
        procedures = {p.municipality_id: p for p in Procedure.objects.filter(code=LOAD_PROCEDURE)}
        ProcedureVersion.objects.bulk_create(
            [
                ProcedureVersion(
                    municipality=m,
                    procedure=procedures[m.pk],
                    number=1,
                    definition=template_version.definition,
                    digest=template_version.digest,
                    published_at=template_version.published_at,
                )
                for m in missing
            ]
        )
        for version in ProcedureVersion.objects.filter(
            procedure__code=LOAD_PROCEDURE, procedure__current_version__isnull=True
        ):
            procedures[version.municipality_id].current_version = version
        Procedure.objects.bulk_update(list(procedures.values()), ["current_version"])

    # Template applications through the ORM (encrypted once each), then copies in SQL.
    planned = sum(the_plan.applications.get(b.code, 0) for b in holding)
    log(f"applications: {planned:,}")
    started = time.perf_counter()
    start_day = datetime.datetime(2020, 5, 1, 8, 30, tzinfo=JST)
    rows: list[Application] = []
    measured = {LARGE[0]: tenants[0], SMALL[0]: tenants[1]}
    for body in holding:
        n = the_plan.applications.get(body.code, 0)
        if n == 0:
            continue
        muni = munis[body.code]
        procedure = procedures[muni.pk]
        own = min(n, LOOKUPS if body.code in measured else TEMPLATES)
        for index in range(own):
            receipt = receipt_number_new()
            secret = secret_for(index)
            if body.code in measured:
                measured[body.code].lookups.append((receipt, secret))
            answers = _answers(index)
            rows.append(
                Application(
                    municipality=muni,
                    procedure=procedure,
                    version_id=procedure.current_version_id,
                    department_id=procedure.department_id,
                    receipt_number=receipt,
                    secret_hash=lookup_secret_hash(receipt, secret),
                    channel="web",
                    state=["received", "reviewing", "paid"][index % 3],
                    state_changed_at=start_day,
                    submitted_at=start_day + datetime.timedelta(minutes=index),
                    due_date=datetime.date(2020, 6, 1),
                    answers=answers,
                    email=None,
                    name_search=normalize_for_search(answers["name"]),
                    person_index=uuid.uuid4().hex,
                )
            )
    Application.objects.bulk_create(rows, batch_size=2_000)
    log(f"  {len(rows):,} template rows through the ORM in {time.perf_counter() - started:.1f} s")
    copies = [
        (
            munis[b.code].pk,
            the_plan.applications.get(b.code, 0)
            - min(
                the_plan.applications.get(b.code, 0),
                LOOKUPS if b.code in measured else TEMPLATES,
            ),
        )
        for b in holding
        if the_plan.applications.get(b.code, 0) > 0
    ]
    copies = [(pk, n) for pk, n in copies if n > 0]
    columns = [
        f.column
        for f in Application._meta.concrete_fields
        if f.column not in {"id", "receipt_number", "submitted_at", "state", "state_changed_at"}
    ]
    _copy_applications(copies, columns, start_day)
    log(f"  applications written in {time.perf_counter() - started:.1f} s")

    # Surveillance: a health centre for each body running one, template cases copied.
    started = time.perf_counter()
    centres: dict[str, HealthCentre] = {}
    for code, n in the_plan.cases.items():
        if n == 0 or (only is not None and code not in only):
            continue
        muni = munis.get(code) or Municipality.objects.get(code=code)
        centres[code] = health_centre_ensure(
            municipality=muni,
            department_code="hokenjo",
            name=f"{muni.name}保健所",
            urgent_phone="078-000-0000",
            area_codes=[],
            actor=actor,
        )
    case_rows = [
        Case(
            municipality_id=centre.municipality_id,
            health_centre=centre,
            residence_code=code,
            category="patient",
            status="observing",
            age_band="30代",
            name=f"山田 太郎{i}",
            name_kana="やまだ たろう",
            birth_date=datetime.date(1990, 4, 1 + i),
            phone="090-1234-5678",
            health={"symptoms": ["fever"]},
            day_zero=datetime.date(2026, 11, 20),
            observation_end=datetime.date(2026, 11, 30),
        )
        for code, centre in centres.items()
        for i in range(min(the_plan.cases[code], 4))
    ]
    Case.objects.bulk_create(case_rows, batch_size=2_000)
    case_copies = [
        (centre.pk, the_plan.cases[code] - min(the_plan.cases[code], 4))
        for code, centre in centres.items()
    ]
    _copy_rows(
        "surveillance_case",
        "health_centre_id",
        [(pk, n) for pk, n in case_copies if n > 0],
        [f.column for f in Case._meta.concrete_fields if f.column != "id"],
        {},
    )
    log(f"  {Case.objects.count():,} cases written in {time.perf_counter() - started:.1f} s")
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    return tenants


def _copy_applications(
    copies: list[tuple[int, int]], columns: list[str], start_day: datetime.datetime
) -> None:
    overrides = {
        "receipt_number": "'F' || lpad(nextval('bench_receipts')::text, 9, '0')",
        "submitted_at": f"'{start_day.isoformat()}'::timestamptz"
        " + ((g * 97) % 10368000) * interval '1 second'",
        "state_changed_at": f"'{start_day.isoformat()}'::timestamptz"
        " + ((g * 97) % 10368000) * interval '1 second'",
        "state": "(ARRAY['received','reviewing','more_info','transfer_pending','paid','paid',"
        "'paid','rejected'])[1 + g % 8]",
    }
    _copy_rows("procedures_application", "municipality_id", copies, columns, overrides)


def _copy_rows(
    table: str,
    owner: str,
    copies: list[tuple[int, int]],
    columns: list[str],
    overrides: dict[str, str],
) -> None:
    """Copy each owner's template rows (round robin) until it has ``n`` more rows."""
    from django.db import connection

    kept = [c for c in columns if c not in overrides]
    target = ", ".join([*overrides, *kept])
    source = ", ".join([*overrides.values(), *(f"t.{c}" for c in kept)])
    with connection.cursor() as cursor:
        cursor.execute("CREATE SEQUENCE IF NOT EXISTS bench_receipts")
        cursor.execute("DROP TABLE IF EXISTS bench_copies")
        cursor.execute(
            "CREATE TEMP TABLE bench_copies (owner bigint, n bigint, templates bigint[])"
        )
        with cursor.copy("COPY bench_copies (owner, n) FROM STDIN") as copy:
            for row in copies:
                copy.write_row(row)
        cursor.execute(
            f"UPDATE bench_copies c SET templates ="  # noqa: S608 - our own identifiers
            f" (SELECT array_agg(id ORDER BY id) FROM {table} WHERE {owner} = c.owner)"
        )
        cursor.execute(
            f"INSERT INTO {table} ({target})"  # noqa: S608 - our own identifiers
            f" SELECT {source} FROM bench_copies c"
            " CROSS JOIN LATERAL generate_series(1, c.n) AS g"
            f" JOIN {table} t ON t.id = c.templates[1 + g % cardinality(c.templates)]"
        )


# --- measurement -----------------------------------------------------------------------------

FIGURES = ("status lookup", "submission", "staff queue", "dashboard")


def requests_of(tenant: Tenant, start: int) -> dict[str, Callable[[int], int]]:
    """For each figure, a function doing request ``i`` and returning its HTTP status."""
    import json

    from django.core.cache import cache
    from django.test import Client

    from bench.status_and_submit import submission_answers

    resident = Client()

    def status(i: int) -> int:
        receipt, secret = tenant.lookups[i % len(tenant.lookups)]
        body = json.dumps({"receipt_number": receipt, "secret": secret})
        return resident.post(
            f"/api/v1/{tenant.slug}/status", body, content_type="application/json"
        ).status_code

    def submit(i: int) -> int:
        answers = submission_answers(start + i, random.Random(start + i))
        return resident.post(
            f"/api/v1/{tenant.slug}/procedures/{SUBMIT_PROCEDURE}/applications",
            json.dumps({"answers": answers}, ensure_ascii=False),
            content_type="application/json",
        ).status_code

    def queue(i: int) -> int:
        return tenant.clerk_client.get(f"/{tenant.slug}/staff/applications/").status_code

    def dashboard(i: int) -> int:
        cache.clear()  # rendered from the database, not the page cache
        return resident.get(f"/{tenant.slug}/dashboard/").status_code

    return dict(zip(FIGURES, (status, submit, queue, dashboard), strict=True))


@dataclass
class Samples:
    seconds: list[float] = field(default_factory=list)
    wall: float = 0.0
    bad: int = 0

    def add(self, other: Samples) -> None:
        self.seconds += other.seconds
        self.wall += other.wall
        self.bad += other.bad

    @property
    def per_second(self) -> float:
        return len(self.seconds) / self.wall if self.wall else 0.0

    def percentile(self, q: float) -> float:
        ordered = sorted(self.seconds)
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000 if ordered else 0.0


OK = {"status lookup": 200, "submission": 201, "staff queue": 200, "dashboard": 200}


def measure(call: Callable[[int], int], figure: str, count: int, first: int) -> Samples:
    samples = Samples()
    call(first)  # warm-up, not counted
    began = time.perf_counter()
    for i in range(first + 1, first + 1 + count):
        t = time.perf_counter()
        code = call(i)
        samples.seconds.append(time.perf_counter() - t)
        if code != OK[figure]:
            samples.bad += 1
    samples.wall = time.perf_counter() - began
    return samples


# --- main ------------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scale", type=float, default=0.02)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--requests", type=int, default=30, help="per figure, body and round")
    parser.add_argument("--database-url", default="")
    args = parser.parse_args(argv)
    if not 0 < args.scale <= 1:
        parser.error("--scale is a fraction in (0, 1]")
    with postgres_server(args.database_url or None) as url:
        os.environ.update(
            {
                "DJANGO_SETTINGS_MODULE": "madoguchi.settings",
                "MADOGUCHI_ENV": "test",
                "DATABASE_URL": url,
                "MADOGUCHI_DATA_DIR": tempfile.mkdtemp(prefix="madoguchi-scale-data-"),
                "MADOGUCHI_CONSULTATION_EMBEDDER": "none",
                "MADOGUCHI_DB_CONN_MAX_AGE": "600",
                "MADOGUCHI_STATUS_RATE_PER_CLIENT": "100000000",
                "MADOGUCHI_STATUS_RATE_PER_RECEIPT": "100000000",
                "MADOGUCHI_API_SUBMISSIONS_PER_MINUTE": "100000000",
            }
        )
        try:
            return _bench(args, url)
        finally:
            shutil.rmtree(os.environ["MADOGUCHI_DATA_DIR"], ignore_errors=True)


def _bench(args: argparse.Namespace, url: str) -> int:
    import django

    django.setup()
    from django.db import connection

    maintenance = connection.settings_dict["NAME"]
    names = {"national": "madoguchi_scale_national", "pair": "madoguchi_scale_pair"}
    all_bodies = bodies()
    the_plan = plan(all_bodies, args.scale)
    kinds = {k: sum(1 for b in all_bodies if b.kind == k) for k in (*POPULATION, "prefecture")}
    total_population = sum(b.population for b in all_bodies)
    print(
        f"scale model: {len(all_bodies):,} bodies ("
        + ", ".join(f"{n} {k}" for k, n in kinds.items())
        + f"); scale {args.scale}: {sum(the_plan.applications.values()):,} applications,"
        f" {sum(the_plan.cases.values()):,} active cases; {args.rounds} rounds of"
        f" {args.requests} requests per figure and body",
        flush=True,
    )
    print(
        "population model (no population table in the repository): by kind, "
        + ", ".join(f"{k} {p:,}" for k, p in POPULATION.items())
        + f" = {total_population:,} in all",
        flush=True,
    )
    for code, _slug, name in (LARGE, SMALL):
        print(
            f"  {name}: {the_plan.applications[code]:,} applications,"
            f" {the_plan.cases.get(code, 0):,} cases (full size)",
            flush=True,
        )
    server_version = connection.cursor().connection.info.server_version
    print(
        f"machine: {platform.machine()}, {os.cpu_count()} cores, Python"
        f" {platform.python_version()}, PostgreSQL {server_version}; load: {_load()}",
        flush=True,
    )
    for name in names.values():
        admin_sql(f"DROP DATABASE IF EXISTS {name}")
        admin_sql(f"CREATE DATABASE {name}")
    try:
        tenants: dict[str, list[Tenant]] = {}
        for label, name in names.items():
            use_database(name)
            log(f"populating {label}")
            only = None if label == "national" else {LARGE[0], SMALL[0]}
            tenants[label] = populate(all_bodies, the_plan, only)
        results = {
            (label, t.slug, f): Samples()
            for label in names
            for t in tenants[label]
            for f in FIGURES
        }
        for round_number in range(args.rounds):
            for label, name in names.items():
                use_database(name)
                for tenant in tenants[label]:
                    calls = requests_of(tenant, 10_000_000 * (round_number + 1))
                    for figure in FIGURES:
                        first = round_number * (args.requests + 1)
                        samples = measure(calls[figure], figure, args.requests, first)
                        results[(label, tenant.slug, figure)].add(samples)
            log(f"round {round_number + 1} of {args.rounds} done; load {_load()}")
        return report(results, tenants["national"])
    finally:
        use_database(maintenance)
        for name in names.values():
            admin_sql(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


def report(results: dict[tuple[str, str, str], Samples], tenants: list[Tenant]) -> int:
    print()
    print(
        f"{'body':<8} {'figure':<14} {'national req/s':>14} {'p50 ms':>7} {'p99 ms':>7}"
        f" {'2 bodies req/s':>14} {'p50 ms':>7} {'p99 ms':>7} {'ratio':>6}  goal >= {TARGET_RATIO}"
    )
    worst = float("inf")
    bad = 0
    for tenant in tenants:
        for figure in FIGURES:
            big, pair = (
                results[("national", tenant.slug, figure)],
                results[("pair", tenant.slug, figure)],
            )
            ratio = big.per_second / pair.per_second if pair.per_second else 0.0
            worst = min(worst, ratio)
            bad += big.bad + pair.bad
            print(
                f"{tenant.name:<8} {figure:<14} {big.per_second:>14.1f}"
                f" {big.percentile(0.5):>7.1f} {big.percentile(0.99):>7.1f}"
                f" {pair.per_second:>14.1f}"
                f" {pair.percentile(0.5):>7.1f} {pair.percentile(0.99):>7.1f} {ratio:>6.2f}"
                f"  {'met' if ratio >= TARGET_RATIO else 'NOT met'}"
            )
    print()
    print(f"unexpected HTTP statuses: {bad}")
    print(
        f"adding tenants must not slow a tenant down (every ratio >= {TARGET_RATIO}):"
        f" {'met' if worst >= TARGET_RATIO else 'NOT met'} (lowest {worst:.2f}); load {_load()}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
