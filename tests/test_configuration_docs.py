"""docs/configuration.md lists exactly the environment variables the code reads."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SRC = ROOT / "src" / "madoguchi"
DOC = ROOT / "docs" / "configuration.md"

_READ = re.compile(r"\benv_(?:str|bool|int|list|is_set)\(\s*\"([A-Z][A-Z0-9_]*)\"")
_DIRECT = re.compile(r"os\.(?:environ|getenv)")
_DOCUMENTED = re.compile(r"^\|\s*`([A-Z][A-Z0-9_]*)`\s*\|", re.MULTILINE)


def variables_read_by_code() -> set[str]:
    names: set[str] = set()
    for path in SRC.rglob("*.py"):
        names.update(_READ.findall(path.read_text("utf-8")))
    return names


def variables_documented() -> set[str]:
    return set(_DOCUMENTED.findall(DOC.read_text("utf-8")))


def test_every_variable_read_is_documented() -> None:
    """A variable the code reads but docs/configuration.md does not list fails the suite."""
    undocumented = variables_read_by_code() - variables_documented()
    assert not undocumented, f"add to docs/configuration.md: {sorted(undocumented)}"


def test_every_documented_variable_is_read() -> None:
    """A variable the page lists but the code no longer reads fails the suite too."""
    stale = variables_documented() - variables_read_by_code()
    assert not stale, f"docs/configuration.md lists unread variables: {sorted(stale)}"


def test_the_scan_finds_the_known_variables() -> None:
    """The scan is not vacuous: it sees the variables everyone relies on."""
    assert {"DATABASE_URL", "MADOGUCHI_SECRET_KEY", "MADOGUCHI_FIELD_KEYS"} <= (
        variables_read_by_code()
    )


def test_no_code_reads_the_environment_directly() -> None:
    """Only madoguchi.core.env touches os.environ (and the entry points set the settings module)."""
    allowed = {SRC / "core" / "env.py"}
    offenders = []
    for path in SRC.rglob("*.py"):
        if path in allowed:
            continue
        for line in path.read_text("utf-8").splitlines():
            if _DIRECT.search(line) and "DJANGO_SETTINGS_MODULE" not in line:
                offenders.append(f"{path.relative_to(ROOT)}: {line.strip()}")
    assert not offenders, "read settings through madoguchi.core.env:\n" + "\n".join(offenders)
