"""The demo catalogue of procedure definitions (YAML), loadable by any municipality."""

from __future__ import annotations

from importlib import resources
from typing import Any

import yaml

# Parts before the bundles that name them.
DEMO_CODES = (
    "teigaku-kyufukin",
    "jido-teate",
    "sodai-gomi",
    "juminhyo",
    "tennyu-todoke",
    "kokuho-kanyu",
    "tennyu-onestop",
)


def catalogue_definition(code: str) -> dict[str, Any]:
    """The bundled definition with this code, as a dict."""
    text = resources.files(__name__).joinpath(f"{code}.yaml").read_text("utf-8")
    data = yaml.safe_load(text)
    assert isinstance(data, dict)
    return data
