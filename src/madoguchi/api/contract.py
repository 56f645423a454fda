"""The committed OpenAPI documents: where they live and how they are generated.

``docs/openapi.json`` (the residents' API) and ``docs/openapi-linkage.json`` (the data-linkage
API) are generated from the code; a test fails when either differs from what the code makes,
so a change to the API shows in review. ``madoguchi openapi --write`` regenerates both.
"""

from __future__ import annotations

import json
from pathlib import Path

from ninja import NinjaAPI

from madoguchi.api.api import api
from madoguchi.api.linkage.ninja_api import linkage_api

__all__ = ["DOCUMENTS", "REGENERATE", "document_text"]

REGENERATE = "madoguchi openapi --write"
DOCUMENTS: dict[str, NinjaAPI] = {
    "docs/openapi.json": api,
    "docs/openapi-linkage.json": linkage_api,
}


def document_text(ninja_api: NinjaAPI) -> str:
    """The API's OpenAPI 3.1 document as committed: sorted keys, two-space indent, UTF-8."""
    schema = ninja_api.get_openapi_schema(path_prefix="/api/")
    return json.dumps(schema, ensure_ascii=False, indent=2, sort_keys=True) + "\n"


def repository_root() -> Path:
    return Path(__file__).resolve().parents[3]
