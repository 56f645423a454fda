"""The stylesheet is generated from the DADS tokens and uses only variables that exist."""

import importlib.util
import json
import re
from pathlib import Path
from types import ModuleType

import pytest

PROJECT_ROOT = Path(__file__).resolve().parents[2]
SCRIPT = PROJECT_ROOT / "scripts" / "build_tokens_css.py"
TOKENS_JSON = PROJECT_ROOT.parent / "shared" / "data" / "dads" / "tokens.json"
DADS_LICENSE = TOKENS_JSON.with_name("LICENSE")
CSS_DIR = PROJECT_ROOT / "src" / "madoguchi" / "static" / "madoguchi" / "css"
TOKENS_CSS = CSS_DIR / "tokens.css"
MADOGUCHI_CSS = CSS_DIR / "madoguchi.css"

needs_token_file = pytest.mark.skipif(
    not TOKENS_JSON.is_file(),
    reason=f"the DADS token file is not checked out at {TOKENS_JSON}",
)


def load_build_script() -> ModuleType:
    spec = importlib.util.spec_from_file_location("build_tokens_css", SCRIPT)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def strip_comments(css: str) -> str:
    return re.sub(r"/\*.*?\*/", "", css, flags=re.DOTALL)


def defined_variables(css: str) -> set[str]:
    return set(re.findall(r"(--[A-Za-z0-9_-]+)\s*:", strip_comments(css)))


def used_variables(css: str) -> set[str]:
    return set(re.findall(r"var\(\s*(--[A-Za-z0-9_-]+)", strip_comments(css)))


@needs_token_file
def test_committed_tokens_css_matches_the_token_file(tmp_path):
    """Regenerating tokens.css from tokens.json gives the committed file byte for byte."""
    build = load_build_script()
    output = tmp_path / "tokens.css"

    exit_code = build.main([str(TOKENS_JSON), "--output", str(output)])

    assert exit_code == 0
    assert output.read_text(encoding="utf-8") == TOKENS_CSS.read_text(encoding="utf-8"), (
        "tokens.css is out of date: run `python scripts/build_tokens_css.py`"
    )


@needs_token_file
def test_build_css_names_and_resolves_tokens():
    """Variables are named after the token path and references are resolved."""
    build = load_build_script()
    tokens = json.loads(TOKENS_JSON.read_text(encoding="utf-8"))

    css = build.build_css(tokens)

    assert "  --color-primitive-blue-900: #0017c1;\n" in css
    assert "  --color-neutral-solid-gray-536: #767676;\n" in css
    assert "  --color-semantic-error-1: #ec0000; /* {Color.Primitive.Red.800} */\n" in css
    assert "  --font-size-16: 1rem; /* 16px */\n" in css
    assert "  --line-height-170: 1.7; /* 170% */\n" in css
    assert "  --font-weight-700: 700;\n" in css
    assert "  --radius-full: 9999px;\n" in css
    assert "MIT License, Copyright (c) 2023 デジタル庁" in css
    assert "{" not in strip_comments(css).split(":root {", 1)[1]


def test_build_css_rejects_an_unresolved_reference():
    """A reference to a token that does not exist is an error, not an empty value."""
    build = load_build_script()
    tokens = {"Color": {"Semantic": {"Error": {"$type": "color", "$value": "{Nope.Red}"}}}}

    with pytest.raises(build.TokenError, match=r"unresolved reference \{Nope\.Red\}"):
        build.build_css(tokens)


def test_build_css_rejects_a_circular_reference():
    build = load_build_script()
    tokens = {
        "Set": {
            "A": {"$type": "color", "$value": "{B}"},
            "B": {"$type": "color", "$value": "{A}"},
        }
    }

    with pytest.raises(build.TokenError, match="circular reference"):
        build.build_css(tokens)


def test_every_variable_used_in_madoguchi_css_is_defined():
    """madoguchi.css refers only to variables from tokens.css or its own :root."""
    madoguchi_css = MADOGUCHI_CSS.read_text(encoding="utf-8")
    defined = defined_variables(TOKENS_CSS.read_text(encoding="utf-8"))
    defined |= defined_variables(madoguchi_css)

    used = used_variables(madoguchi_css)

    assert used, "madoguchi.css uses no variables at all"
    assert sorted(used - defined) == []


def test_madoguchi_css_has_no_colour_literals():
    """Colours come from the tokens; literals would bypass the checked contrast pairs."""
    css = strip_comments(MADOGUCHI_CSS.read_text(encoding="utf-8"))

    literals = re.findall(r"#[0-9A-Fa-f]{3,8}\b|\b(?:rgba?|hsla?|hwb|lab|lch|oklab|oklch)\(", css)

    assert literals == []


@needs_token_file
def test_licence_copy_matches_the_dads_licence():
    assert (CSS_DIR / "DADS-LICENSE.txt").read_bytes() == DADS_LICENSE.read_bytes()
