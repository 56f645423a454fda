"""Tests for madoguchi.core.env (reading configuration from the environment)."""

from __future__ import annotations

import pytest
from django.core.exceptions import ImproperlyConfigured

from madoguchi.core.env import (
    env_bool,
    env_int,
    env_is_set,
    env_list,
    env_set_default,
    env_str,
)

VAR = "MADOGUCHI_TEST_ONLY_VARIABLE"


@pytest.fixture(autouse=True)
def _unset(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(VAR, raising=False)


# --- env_str ----------------------------------------------------------------------------------


def test_env_str(monkeypatch: pytest.MonkeyPatch) -> None:
    """The value is returned as it is, spaces included; the default only when unset."""
    assert env_str(VAR, "既定") == "既定"
    assert env_str(VAR) == ""
    monkeypatch.setenv(VAR, " 神戸市 ")
    assert env_str(VAR, "既定") == " 神戸市 "
    monkeypatch.setenv(VAR, "")
    assert env_str(VAR, "既定") == ""


# --- env_bool ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "raw", ["1", "true", "True", "TRUE", "yes", "Yes", "on", "ON", " true ", "yes\n"]
)
def test_env_bool_true_spellings(monkeypatch: pytest.MonkeyPatch, raw: str) -> None:
    """1, true, yes and on in any case and with surrounding spaces mean True."""
    monkeypatch.setenv(VAR, raw)
    assert env_bool(VAR, False) is True


@pytest.mark.parametrize("raw", ["0", "false", "False", "FALSE", "no", "NO", "off", "Off", "", " "])
def test_env_bool_false_spellings(monkeypatch: pytest.MonkeyPatch, raw: str) -> None:
    """0, false, no, off in any case, and an empty value, mean False."""
    monkeypatch.setenv(VAR, raw)
    assert env_bool(VAR, True) is False


@pytest.mark.parametrize("default", [True, False])
def test_env_bool_unset_gives_the_default(default: bool) -> None:
    """An unset variable gives the default."""
    assert env_bool(VAR, default) is default


@pytest.mark.parametrize("raw", ["maybe", "2", "y", "n", "t", "enabled", "true!"])
def test_env_bool_refuses_other_values_naming_the_variable(
    monkeypatch: pytest.MonkeyPatch, raw: str
) -> None:
    """Anything else is a configuration error that names the variable and repeats the value."""
    monkeypatch.setenv(VAR, raw)
    with pytest.raises(ImproperlyConfigured) as excinfo:
        env_bool(VAR, True)
    assert str(excinfo.value) == f"{VAR} must be a boolean (1/0, true/false), got {raw!r}"


# --- env_int ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected"), [("12", 12), (" 12 ", 12), ("0", 0), ("-5", -5), ("+7", 7), ("007", 7)]
)
def test_env_int(monkeypatch: pytest.MonkeyPatch, raw: str, expected: int) -> None:
    """Decimal integers, with surrounding spaces or a sign, are read."""
    monkeypatch.setenv(VAR, raw)
    assert env_int(VAR, 99) == expected


@pytest.mark.parametrize("raw", [None, "", "   "])
def test_env_int_unset_or_blank_gives_the_default(
    monkeypatch: pytest.MonkeyPatch, raw: str | None
) -> None:
    """Unset and blank both give the default."""
    if raw is not None:
        monkeypatch.setenv(VAR, raw)
    assert env_int(VAR, 99) == 99


@pytest.mark.parametrize("raw", ["12a", "1.5", "twelve", "0x10", "1e3"])
def test_env_int_refuses_non_integers_naming_the_variable(
    monkeypatch: pytest.MonkeyPatch, raw: str
) -> None:
    """A value that is not an integer is a configuration error naming the variable."""
    monkeypatch.setenv(VAR, raw)
    with pytest.raises(ImproperlyConfigured) as excinfo:
        env_int(VAR, 99)
    assert str(excinfo.value) == f"{VAR} must be an integer, got {raw!r}"


# --- env_list ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("a,b", ["a", "b"]),
        (" a , b ,, ,c, ", ["a", "b", "c"]),
        ("madoguchi.example.jp", ["madoguchi.example.jp"]),
        ("", []),
        (" , ,", []),
    ],
)
def test_env_list_strips_and_drops_blanks(
    monkeypatch: pytest.MonkeyPatch, raw: str, expected: list[str]
) -> None:
    """Items are split on commas, stripped, and empty items dropped."""
    monkeypatch.setenv(VAR, raw)
    assert env_list(VAR, ["既定"]) == expected


def test_env_list_unset_gives_a_copy_of_the_default() -> None:
    """Unset gives the default (or []), as a new list the caller may change."""
    default = ["localhost"]
    result = env_list(VAR, default)
    assert result == ["localhost"]
    result.append("x")
    assert default == ["localhost"]
    assert env_list(VAR) == []


# --- env_is_set -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected"), [(None, False), ("", False), ("  ", False), ("x", True)]
)
def test_env_is_set(monkeypatch: pytest.MonkeyPatch, raw: str | None, expected: bool) -> None:
    """Only a present, non-blank value counts as set."""
    if raw is not None:
        monkeypatch.setenv(VAR, raw)
    assert env_is_set(VAR) is expected


def test_set_default_fills_an_unset_variable_and_keeps_the_operators_value(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    env_set_default(VAR, "2")
    assert env_int(VAR, 0) == 2
    monkeypatch.setenv(VAR, "7")
    env_set_default(VAR, "2")
    assert env_int(VAR, 0) == 7
