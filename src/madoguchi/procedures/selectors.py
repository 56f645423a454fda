"""Reading procedures, definitions and applications' public status."""

from __future__ import annotations

import datetime
from dataclasses import dataclass

from django.db import DEFAULT_DB_ALIAS, connection
from django.db.models import Count, Model, Q, QuerySet
from django.utils import timezone

from madoguchi.accounts.models import User
from madoguchi.core.japanese import normalize_digits, normalize_for_search
from madoguchi.core.prepared import PreparedValues
from madoguchi.procedures.definitions import ProcedureDefinition
from madoguchi.procedures.models import Application, DuplicateMatch, Procedure, ProcedureVersion
from madoguchi.tenants.models import Department, Membership, Municipality, Role

__all__ = [
    "BundlePart",
    "CatalogueRow",
    "ProcedureSummary",
    "StatusRow",
    "application_daily_counts",
    "application_get_by_id",
    "application_get_for_staff",
    "application_id_counter",
    "application_queue",
    "application_status_by_receipt",
    "application_summary",
    "assignable_staff",
    "bundle_parts_of",
    "definition_of",
    "definition_of_status",
    "duplicate_matches_for",
    "procedure_catalogue_for_admin",
    "procedure_get_for_admin",
    "procedure_get_published",
    "procedure_get_withdrawn",
    "procedure_is_open",
    "procedure_list_published",
    "procedure_open_department",
    "procedure_version_get",
    "procedure_versions",
    "status_lookup_open",
]


def status_lookup_open(*, municipality: Municipality) -> bool:
    """Whether residents have something to look up: a published procedure or an application."""
    return (
        procedure_list_published(municipality=municipality).exists()
        or Application.objects.filter(municipality=municipality).exists()
    )


def procedure_list_published(*, municipality: Municipality) -> QuerySet[Procedure]:
    """The municipality's published procedures with their current definitions."""
    return (
        Procedure.objects.filter(
            municipality=municipality, is_published=True, current_version__isnull=False
        )
        .select_related("current_version", "department")
        .order_by("code")
    )


# The version's definition JSON (and its source text) stays unread: definition_of parses it
# once per process, and decoding it on every submission or page was most of the lookup.
_VERSION_DEFERRED = frozenset({"definition", "source"})


def _attnames(model: type[Model], *, without: frozenset[str] = frozenset()) -> list[str]:
    return [f.attname for f in model._meta.concrete_fields if f.attname not in without]


_PROCEDURE_COLUMNS = _attnames(Procedure)
_VERSION_COLUMNS = _attnames(ProcedureVersion, without=_VERSION_DEFERRED)
_DEPARTMENT_COLUMNS = _attnames(Department)
_PUBLISHED = PreparedValues(
    "procedure_published",
    lambda municipality, code: Procedure.objects.filter(
        municipality_id=municipality,
        code=code,
        is_published=True,
        current_version__isnull=False,
    ).values_list(
        *_PROCEDURE_COLUMNS,
        *(f"current_version__{name}" for name in _VERSION_COLUMNS),
        *(f"department__{name}" for name in _DEPARTMENT_COLUMNS),
    )[:1],
    municipality=int,
    code=str,
)


def procedure_get_published(*, municipality: Municipality, code: str) -> Procedure | None:
    """The municipality's published procedure with this code, its current version (without the
    definition, see definition_of) and its department; None if there is none.

    What ``procedure_list_published(...).filter(code=code)`` gives, from SQL compiled once per
    connection: this runs on every submission and procedure page.
    """
    row = _PUBLISHED.first(municipality=municipality.pk, code=code)
    if row is None:
        return None
    split = len(_PROCEDURE_COLUMNS)
    version_end = split + len(_VERSION_COLUMNS)
    procedure = Procedure.from_db(DEFAULT_DB_ALIAS, _PROCEDURE_COLUMNS, row[:split])
    procedure.current_version = ProcedureVersion.from_db(
        DEFAULT_DB_ALIAS, _VERSION_COLUMNS, row[split:version_end]
    )
    procedure.department = Department.from_db(
        DEFAULT_DB_ALIAS, _DEPARTMENT_COLUMNS, row[version_end:]
    )
    procedure.municipality = municipality
    return procedure


def procedure_get_withdrawn(*, municipality: Municipality, code: str) -> Procedure | None:
    """A procedure residents knew that was withdrawn (to tell them, rather than a 404)."""
    return (
        Procedure.objects.filter(
            municipality=municipality, code=code, is_published=False, current_version__isnull=False
        )
        .select_related("current_version", "department")
        .first()
    )


_OPEN_DEPARTMENT = PreparedValues(
    "procedure_open_department",
    lambda procedure: Procedure.objects.filter(pk=procedure, is_published=True).values_list(
        "department_id"
    )[:1],
    procedure=int,
)


def procedure_open_department(*, procedure_id: int) -> int | None:
    """The department of the procedure if it takes new applications; None once withdrawn."""
    row = _OPEN_DEPARTMENT.first(procedure=procedure_id)
    return None if row is None else int(row[0])


def procedure_is_open(*, procedure_id: int) -> bool:
    """Whether the procedure takes new applications (not withdrawn)."""
    return procedure_open_department(procedure_id=procedure_id) is not None


@dataclass(frozen=True, slots=True)
class CatalogueRow:
    """A procedure as the admin console lists it."""

    procedure: Procedure
    name: str
    latest: ProcedureVersion | None
    version_count: int

    @property
    def has_unpublished(self) -> bool:
        current = self.procedure.current_version
        return self.latest is not None and (current is None or self.latest.number > current.number)


def procedure_catalogue_for_admin(*, municipality: Municipality) -> list[CatalogueRow]:
    """Every procedure of the municipality (published, withdrawn or only uploaded)."""
    procedures = list(
        Procedure.objects.filter(municipality=municipality)
        .select_related("current_version", "department")
        .annotate(version_count=Count("versions"))
        .order_by("code")
    )
    latest: dict[int, ProcedureVersion] = {}
    for version in ProcedureVersion.objects.filter(municipality=municipality).order_by("number"):
        latest[version.procedure_id] = version
    rows = []
    for procedure in procedures:
        shown = procedure.current_version or latest.get(procedure.pk)
        rows.append(
            CatalogueRow(
                procedure=procedure,
                name=definition_of(shown).name_ja if shown is not None else procedure.code,
                latest=latest.get(procedure.pk),
                version_count=getattr(procedure, "version_count", 0),
            )
        )
    return rows


def procedure_get_for_admin(*, municipality: Municipality, code: str) -> Procedure | None:
    return (
        Procedure.objects.filter(municipality=municipality, code=code)
        .select_related("current_version", "department")
        .first()
    )


def procedure_versions(*, procedure: Procedure) -> QuerySet[ProcedureVersion]:
    """The versions of a procedure, newest first."""
    return ProcedureVersion.objects.filter(
        municipality_id=procedure.municipality_id, procedure=procedure
    ).order_by("-number")


def procedure_version_get(
    *, municipality: Municipality, code: str, number: int
) -> ProcedureVersion | None:
    return (
        ProcedureVersion.objects.filter(
            municipality=municipality, procedure__code=code, number=number
        )
        .select_related("procedure", "procedure__department", "procedure__current_version")
        .first()
    )


# Versions never change once written, so a parsed definition can be kept per process.
_DEFINITIONS: dict[tuple[int, str], ProcedureDefinition] = {}
_DEFINITIONS_MAX = 1024


def definition_of(version: ProcedureVersion) -> ProcedureDefinition:
    """The parsed definition of a version (parsed once per process)."""
    key = (version.pk, version.digest)
    definition = _DEFINITIONS.get(key)
    if definition is None:
        if len(_DEFINITIONS) >= _DEFINITIONS_MAX:
            _DEFINITIONS.clear()
        definition = ProcedureDefinition.from_dict(version.definition)
        _DEFINITIONS[key] = definition
    return definition


def application_get_by_id(*, municipality: Municipality, application_id: int) -> Application | None:
    """An application of ``municipality`` by its id, for a resident whose session has already
    proved its access code (the status page shown again, an answer to a request)."""
    return (
        Application.objects.filter(pk=application_id, municipality=municipality)
        .select_related("version")
        .first()
    )


@dataclass(frozen=True, slots=True)
class StatusRow:
    """The columns of an application that a status lookup reads (no personal data)."""

    pk: int
    secret_hash: str
    state: str
    state_changed_at: datetime.datetime
    submitted_at: datetime.datetime
    due_date: datetime.date
    public_message: str
    version_id: int
    version_digest: str


_STATUS_COLUMNS = (
    "pk",
    "secret_hash",
    "state",
    "state_changed_at",
    "submitted_at",
    "due_date",
    "public_message",
    "version_id",
    "version__digest",
)
_STATUS = PreparedValues(
    "application_status",
    lambda municipality, receipt: Application.objects.filter(
        municipality_id=municipality, receipt_number=receipt
    ).values_list(*_STATUS_COLUMNS)[:1],
    municipality=int,
    receipt=str,
)


def application_id_counter() -> int:
    """SQLite only: the last application id given out (0 before the first).

    Django makes SQLite primary keys AUTOINCREMENT, so ids come from this counter, which only
    grows: unlike the highest id stored, it is right after rows are deleted too.
    """
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT seq FROM sqlite_sequence WHERE name = %s", [Application._meta.db_table]
        )
        row = cursor.fetchone()
    return 0 if row is None else int(row[0])


def application_status_by_receipt(
    *, municipality_id: int, receipt_number: str, using: str = DEFAULT_DB_ALIAS
) -> StatusRow | None:
    """The status columns of the municipality's application with this receipt number.

    The same SQL the ORM makes for
    ``Application.objects.filter(municipality_id=…, receipt_number=…).values_list(…)[:1]``,
    compiled once per connection instead of on every lookup (building the query took most of
    a lookup's CPU time); it runs through the connection's cursor like any other query.
    """
    row = _STATUS.first(using=using, municipality=municipality_id, receipt=receipt_number)
    if row is None:
        return None
    return StatusRow(*row)


def definition_of_status(row: StatusRow) -> ProcedureDefinition:
    """The parsed definition of the version a status row names (parsed once per process)."""
    definition = _DEFINITIONS.get((row.version_id, row.version_digest))
    if definition is None:
        definition = definition_of(ProcedureVersion.objects.get(pk=row.version_id))
    return definition


# --- the staff console -------------------------------------------------------------------------


def application_queue(
    *,
    municipality: Municipality,
    departments: list[Department] | None,
    state: str = "",
    procedure_code: str = "",
    overdue: bool = False,
    open_only: bool = False,
    assigned_to: User | None = None,
    query: str = "",
    today: datetime.date | None = None,
) -> QuerySet[Application]:
    """A department queue: the municipality's applications narrowed by the filters.

    ``departments`` None means every department (municipality admins). ``query`` finds a
    receipt number (full or its first digits) or a name in kanji or kana, 全角/半角 alike.
    """
    found = Application.objects.filter(municipality=municipality)
    if departments is not None:
        found = found.filter(department__in=departments)
    if state:
        found = found.filter(state=state)
    if procedure_code:
        found = found.filter(procedure__code=procedure_code)
    if open_only or overdue:
        found = found.filter(closed_at__isnull=True)
    if overdue:
        found = found.filter(due_date__lt=today or timezone.localdate())
    if assigned_to is not None:
        found = found.filter(assigned_to=assigned_to)
    text = query.strip()
    if text:
        digits = normalize_digits(text)
        if digits.isascii() and digits.isdigit():
            found = found.filter(receipt_number__startswith=digits)
        else:
            found = found.filter(name_search__contains=normalize_for_search(text))
    return found.select_related("procedure", "department", "assigned_to", "version").order_by(
        "due_date", "submitted_at"
    )


@dataclass(frozen=True, slots=True)
class ProcedureSummary:
    code: str
    name: str
    open: int
    overdue: int
    done_this_week: int


def application_summary(
    *, municipality: Municipality, departments: list[Department] | None, today: datetime.date
) -> list[ProcedureSummary]:
    """Per procedure: open, overdue and closed since this week's Monday."""
    monday = today - datetime.timedelta(days=today.weekday())
    week_start = timezone.make_aware(datetime.datetime.combine(monday, datetime.time()))
    found = Application.objects.filter(municipality=municipality)
    if departments is not None:
        found = found.filter(department__in=departments)
    rows = (
        found.values("procedure_id", "procedure__code")
        .annotate(
            open=Count("pk", filter=Q(closed_at__isnull=True)),
            overdue=Count("pk", filter=Q(closed_at__isnull=True, due_date__lt=today)),
            done=Count("pk", filter=Q(closed_at__gte=week_start)),
        )
        .order_by("procedure__code")
    )
    procedures = {
        p.pk: p
        for p in Procedure.objects.filter(municipality=municipality).select_related(
            "current_version"
        )
    }
    summaries = []
    for row in rows:
        procedure = procedures[row["procedure_id"]]
        name = (
            definition_of(procedure.current_version).name_ja
            if procedure.current_version
            else procedure.code
        )
        summaries.append(
            ProcedureSummary(row["procedure__code"], name, row["open"], row["overdue"], row["done"])
        )
    return summaries


def application_get_for_staff(
    *, municipality: Municipality, receipt_number: str, departments: list[Department] | None
) -> Application | None:
    found = Application.objects.filter(municipality=municipality, receipt_number=receipt_number)
    if departments is not None:
        found = found.filter(department__in=departments)
    return found.select_related("procedure", "department", "assigned_to", "version").first()


def duplicate_matches_for(*, application: Application) -> list[DuplicateMatch]:
    """Matches in either direction, with the other application loaded."""
    return list(
        DuplicateMatch.objects.filter(municipality_id=application.municipality_id)
        .filter(Q(application=application) | Q(other=application))
        .select_related("application", "other")
        .order_by("created_at")
    )


def application_daily_counts(
    *, municipality: Municipality, since: datetime.date | None = None
) -> list[tuple[str, datetime.date, int, int]]:
    """Applications received and completed per procedure and local day: counts only.

    Returns ``(procedure code, day, received, completed)`` sorted by code and day, for the days
    from ``since`` (all days when None) on which either happened. Completed means the
    application entered a state that its version's definition marks ``final``; a final state
    cannot be left, so each application completes once. No personal data is read.
    """
    # Imported here so that this addition stays one block (the open-data issue).
    from django.db.models.functions import TruncDate

    from madoguchi.procedures.models import StateChange

    tz = timezone.get_current_timezone()
    received = Application.objects.filter(municipality=municipality)
    completed = StateChange.objects.filter(municipality=municipality)
    if since is not None:
        start = datetime.datetime.combine(since, datetime.time.min, tzinfo=tz)
        received = received.filter(submitted_at__gte=start)
        completed = completed.filter(changed_at__gte=start)
    finals = Q(pk__in=[])
    for version in ProcedureVersion.objects.filter(municipality=municipality):
        states = [key for key, state in definition_of(version).states.items() if state.final]
        if states:
            finals |= Q(application__version_id=version.pk, to_state__in=states)
    counts: dict[tuple[str, datetime.date], list[int]] = {}
    for row in (
        received.annotate(day=TruncDate("submitted_at", tzinfo=tz))
        .values("procedure__code", "day")
        .annotate(n=Count("id"))
    ):
        counts.setdefault((row["procedure__code"], row["day"]), [0, 0])[0] += row["n"]
    for row in (
        completed.filter(finals)
        .annotate(day=TruncDate("changed_at", tzinfo=tz))
        .values("application__procedure__code", "day")
        .annotate(n=Count("application_id", distinct=True))
    ):
        key = (row["application__procedure__code"], row["day"])
        counts.setdefault(key, [0, 0])[1] += row["n"]
    return sorted((code, day, r, c) for (code, day), (r, c) in counts.items())


@dataclass(frozen=True, slots=True)
class BundlePart:
    """Another application opened by the same one-stop submission: its state, never notes."""

    receipt_number: str
    procedure_name: str
    department_name: str
    state_label: str


def bundle_parts_of(*, application: Application) -> list[BundlePart]:
    """The other parts of the application's one-stop bundle (empty when it has none)."""
    if application.bundle is None:
        return []
    siblings = (
        Application.objects.filter(
            municipality_id=application.municipality_id, bundle=application.bundle
        )
        .exclude(pk=application.pk)
        .select_related("version", "department")
        .order_by("pk")
    )
    parts = []
    for other in siblings:
        definition = definition_of(other.version)
        state = definition.states.get(other.state)
        parts.append(
            BundlePart(
                other.receipt_number,
                definition.name_ja,
                other.department.name,
                state.label_ja if state else other.state,
            )
        )
    return parts


def assignable_staff(*, application: Application) -> list[User]:
    """Members who may work the application: its department's, or municipality-wide ones."""
    memberships = (
        Membership.objects.filter(
            municipality_id=application.municipality_id,
            role__in=[Role.ADMIN, Role.SUPERVISOR, Role.CLERK],
        )
        .filter(Q(department_id=application.department_id) | Q(department__isnull=True))
        .select_related("user")
    )
    return sorted({m.user for m in memberships}, key=lambda u: u.get_username())


def department_open_work(*, municipality: Municipality, department: Department) -> dict[str, int]:
    """What still routes to or waits in ``department``: open applications, published procedures."""
    return {
        "applications": Application.objects.filter(
            municipality=municipality, department=department, closed_at__isnull=True
        ).count(),
        "procedures": Procedure.objects.filter(
            municipality=municipality, department=department, is_published=True
        ).count(),
    }
