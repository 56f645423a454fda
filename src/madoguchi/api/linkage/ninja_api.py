"""The data-linkage API as its own NinjaAPI, with its own OpenAPI document.

It shares the error shape, the strict JSON parser and the Japanese answers of the residents'
API (``madoguchi.api.api``) but has another audience and security scheme: systems of the
municipality with OAuth 2.0 client credentials, not residents' apps without sign-in. Its
document is ``/api/linkage/openapi.json``, committed as ``docs/openapi-linkage.json``.
"""

from __future__ import annotations

from ninja import NinjaAPI

from madoguchi.api.api import StrictJsonParser, in_japanese
from madoguchi.api.docs import ApiDocs
from madoguchi.api.errors import ERROR_CODE_HELP, install_error_handlers
from madoguchi.api.linkage.api import router
from madoguchi.api.linkage.cases import router as cases_router
from madoguchi.api.linkage.consultations import router as consultations_router
from madoguchi.api.linkage.opendata import router as opendata_router
from madoguchi.api.linkage.payments import router as payments_router

__all__ = ["linkage_api"]


def _description() -> str:
    rows = "\n".join(
        f"| `{code}` | {status} | {meaning} |"
        for code, (status, meaning) in ERROR_CODE_HELP.items()
    )
    return (
        "自治体のほかのシステム（基幹系、コールセンターなど）のためのデータ連携 API です。"
        "自治体の管理者が管理画面で作った API クライアントの client_id と client_secret で "
        "`POST /api/v1/oauth/token` からアクセストークンを取り、"
        "`Authorization: Bearer <token>` を付けて呼びます。"
        "`{municipality}` はクライアントの自治体の URL 名です。\n\n"
        "エラーはすべて "
        '`{"error": {"code", "message", "field", "details": [...]}}` の形で返します'
        '（トークンの発行だけは OAuth 2.0 の形 `{"error", "error_description"}` です）。\n\n'
        "| code | HTTP | 意味 |\n|---|---|---|\n" + rows
    )


linkage_api = NinjaAPI(
    title="madoguchi data-linkage API",
    version="1",
    description=_description(),
    urls_namespace="linkage-api",
    docs=ApiDocs(),
    docs_url="/linkage/docs",
    openapi_url="/linkage/openapi.json",
    parser=StrictJsonParser(),
    auth=None,
)
install_error_handlers(linkage_api)
linkage_api.add_decorator(in_japanese, mode="view")
linkage_api.add_router("/v1", router)
linkage_api.add_router("/v1", cases_router)
linkage_api.add_router("/v1", payments_router)
linkage_api.add_router("/v1", consultations_router)
linkage_api.add_router("/v1", opendata_router)
