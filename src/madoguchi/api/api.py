"""The one NinjaAPI of madoguchi, assembled from each domain app's ``api.py`` router.

Endpoints are for other systems, not for browsers with a session: no authentication by cookie
is consulted, so there is nothing for CSRF to protect (django-ninja marks its views exempt and
checks CSRF only for cookie authentication, which is not used). Answers are in Japanese
whatever Accept-Language says, so that a message a client logs reads the same everywhere.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from functools import wraps
from typing import Any, NoReturn

from django.http import HttpRequest
from django.http.response import HttpResponseBase
from django.utils import translation
from django.utils.datastructures import MultiValueDict
from django.utils.translation import gettext as _
from ninja import NinjaAPI
from ninja.parser import Parser
from ninja.types import DictStrAny

from madoguchi.api.docs import ApiDocs
from madoguchi.api.errors import (
    ERROR_CODE_HELP,
    MalformedJson,
    field_invalid,
    install_error_handlers,
)
from madoguchi.procedures.api import router as procedures_router

__all__ = ["SURROGATE_ESCAPE", "StrictJsonParser", "api", "in_japanese"]

Run = Callable[..., HttpResponseBase]

# A lone surrogate can only arrive as a \uD800-\uDFFF escape; most bodies have none.
SURROGATE_ESCAPE = re.compile(rb"\\u[dD][89abcdefABCDEF]")


def _refuse_constant(name: str) -> NoReturn:
    raise MalformedJson(
        _("JSON に %(name)s は使えません。") % {"name": name},
    )


class StrictJsonParser(Parser):
    """JSON as RFC 8259 has it: no NaN or Infinity, no unpaired surrogates; no NUL character
    in the query.

    Python's json module reads NaN and lone surrogates, but neither survives being stored or
    sent on: a lone surrogate cannot be encoded as UTF-8 and NaN is not JSON. PostgreSQL
    refuses NUL in text, so a query value holding one would fail at the database as a filter
    (on SQLite it would be compared): it is refused here, the same on both. In the body, each
    field's own rules refuse NUL with the field's own code.
    """

    def parse_body(self, request: HttpRequest) -> DictStrAny:
        body = request.body
        data = json.loads(body, parse_constant=_refuse_constant)
        if SURROGATE_ESCAPE.search(body):
            try:
                json.dumps(data, ensure_ascii=False).encode("utf-8")
            except UnicodeEncodeError:
                raise MalformedJson(
                    _("JSON の文字列に対になっていないサロゲート（\\uD800 など）があります。")
                ) from None
        # Annotated as a dict, but anything JSON holds goes on to the schema, which answers
        # a list or a string where an object belongs with a 422.
        return data

    def parse_querydict(
        self, data: MultiValueDict[str, str], list_fields: list[str], request: HttpRequest
    ) -> DictStrAny:
        # ninja reads form fields and files through here too: those are the body's.
        for key, values in data.lists() if data is request.GET else ():
            if "\x00" in key or any("\x00" in value for value in values):
                raise field_invalid(
                    key.replace("\x00", ""), "string_nul", _("NUL 文字は使えません。")
                )
        return super().parse_querydict(data, list_fields, request)


def in_japanese(run: Run) -> Run:
    @wraps(run)
    def japanese(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        with translation.override("ja"):
            response = run(request, *args, **kwargs)
        # LocaleMiddleware would otherwise label the response with the client's language.
        response["Content-Language"] = "ja"
        return response

    return japanese


def _description() -> str:
    rows = "\n".join(
        f"| `{code}` | {status} | {meaning} |"
        for code, (status, meaning) in ERROR_CODE_HELP.items()
    )
    return (
        "自治体のオンライン手続きの API です。`{municipality}` は自治体の URL 名"
        "（例: `kobe`）です。\n\n"
        "エラーはすべて "
        '`{"error": {"code", "message", "field", "details": [...]}}` の形で返します。'
        "`code` は変わらない値で、`message` は人が読むための日本語です。\n\n"
        "| code | HTTP | 意味 |\n|---|---|---|\n" + rows
    )


api = NinjaAPI(
    title="madoguchi API",
    version="1",
    description=_description(),
    urls_namespace="api",
    docs=ApiDocs(),
    parser=StrictJsonParser(),
    auth=None,
)
install_error_handlers(api)
api.add_decorator(in_japanese, mode="view")
api.add_router("/v1", procedures_router)
