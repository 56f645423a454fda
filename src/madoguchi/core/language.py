"""Switching language without losing the page: the switch submits the page's own form.

A page whose state lives in a POST (a status result, a wizard step with typed values) names its
form in the context as ``language_form``; the header's switch is then a button of that form
(``form=...``) posting to the same address with ``?language=en``. This middleware answers that
request in the chosen language and remembers the choice in the language cookie, while the view
handles the form as it would any other post (the wizard keeps the typed values, the status page
shows the result again from the session's proof of the access code). Nothing secret travels in
the address: only the language code.
"""

from __future__ import annotations

from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.utils import translation

_LANGUAGES = {code for code, _name in settings.LANGUAGES}


class LanguageFromFormMiddleware:
    """Activate ``?language=`` of a POST and keep it in the language cookie."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        language = request.GET.get("language", "") if request.method == "POST" else ""
        if language not in _LANGUAGES:
            return self.get_response(request)
        translation.activate(language)
        request.LANGUAGE_CODE = language
        response = self.get_response(request)
        response.set_cookie(
            settings.LANGUAGE_COOKIE_NAME,
            language,
            max_age=settings.LANGUAGE_COOKIE_AGE,
            path=settings.LANGUAGE_COOKIE_PATH,
            domain=settings.LANGUAGE_COOKIE_DOMAIN,
            secure=settings.LANGUAGE_COOKIE_SECURE,
            httponly=settings.LANGUAGE_COOKIE_HTTPONLY,
            samesite=settings.LANGUAGE_COOKIE_SAMESITE,
        )
        return response
