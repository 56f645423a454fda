"""Reading a definition's YAML text with the line of every problem.

``definition_source_read`` parses the text twice: into plain data for
:meth:`ProcedureDefinition.from_dict` and into PyYAML's node tree, which keeps the position of
every key. A YAML syntax error carries its own mark; a validation error carries the path of
the offending key (:attr:`DefinitionError.path`), which is looked up in the node tree. The
console shows "12行目" beside each problem, the command line prints ``file:12:5: ...``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from madoguchi.procedures.definitions import DefinitionError, ProcedureDefinition
from madoguchi.procedures.fieldtypes.errors import PathPart

__all__ = [
    "MAX_SOURCE_CHARS",
    "DefinitionSource",
    "DefinitionSourceInvalid",
    "SourceProblem",
    "definition_source_read",
    "path_display",
]

MAX_SOURCE_CHARS: Final = 200_000


@dataclass(frozen=True, slots=True)
class SourceProblem:
    """One problem of a definition text; ``line`` and ``column`` count from 1 (0: unknown)."""

    line: int
    column: int
    message: str
    path: str = ""

    def __str__(self) -> str:
        where = f"{self.line}:{self.column}: " if self.line else ""
        return f"{where}{self.message}"


class DefinitionSourceInvalid(Exception):  # noqa: N818 - mirrors SubmissionInvalid
    """The text is not a valid definition; ``problems`` in the order of their lines."""

    def __init__(self, problems: list[SourceProblem]) -> None:
        super().__init__("; ".join(str(p) for p in problems))
        self.problems = problems


@dataclass(frozen=True, slots=True)
class DefinitionSource:
    """A checked definition with the data it was read from and the text itself."""

    text: str
    data: dict[str, Any]
    definition: ProcedureDefinition
    root: Node

    def problem(self, exc: DefinitionError) -> SourceProblem:
        """The problem of a rule checked later (e.g. an unknown department), with its line."""
        line, column = locate(self.root, exc.path)
        return SourceProblem(line, column, str(exc), path_display(exc.path))


def path_display(path: tuple[PathPart, ...]) -> str:
    """``("steps", 1, "fields", 0, "type")`` → ``steps[1].fields[0].type``."""
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def locate(root: Node, path: tuple[PathPart, ...]) -> tuple[int, int]:
    """The line and column of the deepest node of ``path`` that exists in the text.

    A key that is missing (``label_ja`` is required) points at the mapping that lacks it.
    """
    node = root
    mark = root.start_mark
    for part in path:
        if isinstance(node, MappingNode):
            found = next(
                (
                    (key, value)
                    for key, value in node.value
                    if isinstance(key, ScalarNode) and key.value == str(part)
                ),
                None,
            )
            if found is None:
                break
            mark, node = found[0].start_mark, found[1]
        elif isinstance(node, SequenceNode) and isinstance(part, int):
            if not 0 <= part < len(node.value):
                break
            node = node.value[part]
            mark = node.start_mark
        else:
            break
    return mark.line + 1, mark.column + 1


def _structure_problems(root: Node) -> list[SourceProblem]:
    """Keys given twice in one mapping (PyYAML would keep the last silently) and aliases.

    Aliases (``*name``) are refused: a few lines of them can expand to gigabytes once the
    definition is stored as JSON, and no definition needs them.
    """
    problems: list[SourceProblem] = []
    seen: set[int] = set()
    stack: list[Node] = [root]
    while stack:
        node = stack.pop()
        if id(node) in seen:
            problems.append(
                SourceProblem(
                    node.start_mark.line + 1,
                    node.start_mark.column + 1,
                    "anchors and aliases (& and *) are not supported in definitions",
                )
            )
            continue
        seen.add(id(node))
        if isinstance(node, MappingNode):
            keys: set[str] = set()
            for key, value in node.value:
                if isinstance(key, ScalarNode):
                    if key.value in keys:
                        problems.append(
                            SourceProblem(
                                key.start_mark.line + 1,
                                key.start_mark.column + 1,
                                f"key {key.value!r} is given twice in the same mapping",
                            )
                        )
                    keys.add(key.value)
                stack.extend((key, value))
        elif isinstance(node, SequenceNode):
            stack.extend(node.value)
    return sorted(problems, key=lambda p: (p.line, p.column))


def definition_source_read(text: str, *, department: str = "") -> DefinitionSource:
    """Parse and check a definition's YAML, or raise DefinitionSourceInvalid with lines.

    ``department`` (the command line's ``--department``) replaces the definition's own.
    """
    if len(text) > MAX_SOURCE_CHARS:
        raise DefinitionSourceInvalid(
            [SourceProblem(0, 0, f"the text is longer than {MAX_SOURCE_CHARS} characters")]
        )
    if "\x00" in text:
        raise DefinitionSourceInvalid([SourceProblem(0, 0, "the text contains a NUL character")])
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
        if root is None:
            raise DefinitionSourceInvalid([SourceProblem(1, 1, "the text is empty")])
        structure = _structure_problems(root)
        if structure:
            raise DefinitionSourceInvalid(structure)
        data = yaml.safe_load(text)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        message = " ".join(str(p) for p in (exc.context, exc.problem) if p)
        raise DefinitionSourceInvalid(
            [
                SourceProblem(
                    mark.line + 1 if mark else 0,
                    mark.column + 1 if mark else 0,
                    f"not valid YAML: {message or exc}",
                )
            ]
        ) from None
    except yaml.YAMLError as exc:
        raise DefinitionSourceInvalid([SourceProblem(0, 0, f"not valid YAML: {exc}")]) from None
    except RecursionError:
        raise DefinitionSourceInvalid(
            [SourceProblem(0, 0, "the text is nested too deeply")]
        ) from None
    if not isinstance(data, Mapping):
        raise DefinitionSourceInvalid(
            [SourceProblem(1, 1, "a definition must be a mapping (key: value lines)")]
        )
    data = dict(data)
    if department:
        data["department"] = department
    try:
        definition = ProcedureDefinition.from_dict(data)
    except DefinitionError as exc:
        line, column = locate(root, exc.path)
        raise DefinitionSourceInvalid(
            [SourceProblem(line, column, str(exc), path_display(exc.path))]
        ) from None
    return DefinitionSource(text=text, data=data, definition=definition, root=root)
