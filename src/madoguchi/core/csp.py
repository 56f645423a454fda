"""The Content-Security-Policy header, built once per process instead of on every response.

django-csp's middleware rebuilds the header from the settings for every response (copying and
joining every directive, about a tenth of a small JSON request's CPU time). Without a nonce or
a per-view policy (``csp_update``, ``csp_replace``, ``csp_exempt`` …) the result depends only
on the settings, so this subclass keeps it and writes the same header; anything else goes
through django-csp unchanged. The kept headers are dropped when the CSP settings change.
"""

from __future__ import annotations

import threading
from typing import Any

from csp.constants import HEADER, HEADER_REPORT_ONLY
from csp.middleware import CheckableLazyObject
from csp.middleware import CSPMiddleware as LibraryCSPMiddleware
from csp.utils import build_policy
from django.conf import settings
from django.core.signals import setting_changed
from django.dispatch import receiver
from django.http import HttpRequest
from django.http.response import HttpResponseBase

__all__ = ["CSPMiddleware"]

# Attributes through which a view or decorator changes the policy of one response.
_PER_RESPONSE = (
    "_csp_config",
    "_csp_update",
    "_csp_replace",
    "_csp_config_ro",
    "_csp_update_ro",
    "_csp_replace_ro",
)
_SETTINGS = {
    False: (HEADER, "_csp_exempt", "CONTENT_SECURITY_POLICY"),
    True: (HEADER_REPORT_ONLY, "_csp_exempt_ro", "CONTENT_SECURITY_POLICY_REPORT_ONLY"),
}
_policies: dict[bool, str] = {}
_policies_lock = threading.Lock()


def _policy(*, report_only: bool) -> str:
    """The header django-csp builds from the settings alone (no nonce, no per-view change)."""
    policy = _policies.get(report_only)
    if policy is None:
        policy = build_policy(report_only=report_only)
        with _policies_lock:
            _policies[report_only] = policy
    return policy


@receiver(setting_changed)
def _settings_changed(*, setting: str, **kwargs: Any) -> None:
    if setting.startswith("CONTENT_SECURITY_POLICY"):
        with _policies_lock:
            _policies.clear()


class CSPMiddleware(LibraryCSPMiddleware):
    """django-csp's middleware with the header of the common case kept per process."""

    def process_response(
        self, request: HttpRequest, response: HttpResponseBase
    ) -> HttpResponseBase:
        if getattr(request, "_csp_nonce", None) is not None or any(
            getattr(response, name, None) is not None for name in _PER_RESPONSE
        ):
            return super().process_response(request, response)
        if response.status_code in (500, 404) and settings.DEBUG:
            return response  # django-csp leaves the debug pages alone
        for report_only, (header, exempt, setting) in _SETTINGS.items():
            policy = _policy(report_only=report_only)
            if not policy or header in response or getattr(response, exempt, False) is not False:
                continue
            prefixes = (getattr(settings, setting, None) or {}).get("EXCLUDE_URL_PREFIXES") or ()
            if not request.path_info.startswith(tuple(prefixes)):
                response[header] = policy
        # As django-csp: a nonce asked for after the header is written is an error.
        setattr(request, "csp_nonce", CheckableLazyObject(self._csp_nonce_post_response))  # noqa: B010
        return response
