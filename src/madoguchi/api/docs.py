"""The API's documentation page, rendered on the server from the OpenAPI document.

The Swagger UI that django-ninja offers runs scripts from a CDN (or from static files of an
app this project does not install), which the Content-Security-Policy refuses and closed
municipal networks cannot reach; a plain page needs neither.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from ninja.openapi.docs import DocsBase

from madoguchi.api.errors import ERROR_CODE_HELP

if TYPE_CHECKING:
    from ninja import NinjaAPI

__all__ = ["ApiDocs"]

_METHODS = ("get", "post", "put", "patch", "delete")


def _schema_name(schema: Any) -> str:
    if not isinstance(schema, dict):
        return ""
    ref = schema.get("$ref")
    if isinstance(ref, str):
        return ref.rsplit("/", 1)[-1]
    items = schema.get("items")
    if schema.get("type") == "array" and isinstance(items, dict):
        return f"{_schema_name(items)}[]"
    kind = schema.get("type")
    return kind if isinstance(kind, str) else ""


def _response_schema(response: Any) -> str:
    content = response.get("content") if isinstance(response, dict) else None
    if not isinstance(content, dict):
        return ""
    for media in content.values():
        if isinstance(media, dict):
            return _schema_name(media.get("schema"))
    return ""


def _operations(document: dict[str, Any]) -> list[dict[str, Any]]:
    operations = []
    for path, item in document.get("paths", {}).items():
        for method in _METHODS:
            operation = item.get(method)
            if not isinstance(operation, dict):
                continue
            body = operation.get("requestBody", {}).get("content", {})
            operations.append(
                {
                    "method": method.upper(),
                    "path": path,
                    "summary": operation.get("summary", ""),
                    "description": operation.get("description", ""),
                    "parameters": [
                        {
                            "name": parameter.get("name", ""),
                            "location": parameter.get("in", ""),
                            "required": parameter.get("required", False),
                            "type": _schema_name(parameter.get("schema")),
                            "description": parameter.get("description", ""),
                        }
                        for parameter in operation.get("parameters", [])
                    ],
                    "body": [
                        {"content_type": content_type, "schema": _schema_name(media.get("schema"))}
                        for content_type, media in body.items()
                    ],
                    "responses": [
                        {"status": status, "schema": _response_schema(response)}
                        for status, response in operation.get("responses", {}).items()
                    ],
                }
            )
    return operations


class ApiDocs(DocsBase):
    """Operations, schemas and error codes on one page without scripts."""

    def render_page(self, request: HttpRequest, api: NinjaAPI, **kwargs: Any) -> HttpResponse:
        document = dict(api.get_openapi_schema(path_params=kwargs))
        schemas = document.get("components", {}).get("schemas", {})
        return render(
            request,
            "api/docs.html",
            {
                "title": api.title,
                "version": api.version,
                "openapi_url": reverse(f"{api.urls_namespace}:openapi-json", kwargs=kwargs),
                "operations": _operations(document),
                "schemas": [
                    (name, json.dumps(schema, ensure_ascii=False, indent=2))
                    for name, schema in schemas.items()
                ],
                "error_codes": [
                    (code.value, status, meaning)
                    for code, (status, meaning) in ERROR_CODE_HELP.items()
                ],
            },
        )
