"""``madoguchi openapi [--write]``: print or commit the OpenAPI documents of the API."""

from __future__ import annotations

from argparse import ArgumentParser
from typing import Any

from django.core.management.base import BaseCommand

from madoguchi.api.contract import DOCUMENTS, document_text, repository_root


class Command(BaseCommand):
    help = (
        "Print the OpenAPI 3.1 documents of the residents' and the data-linkage API, or with "
        "--write store them as docs/openapi.json and docs/openapi-linkage.json."
    )

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("--write", action="store_true", help="write the files under docs/")

    def handle(self, *args: Any, **options: Any) -> None:
        for relative, ninja_api in DOCUMENTS.items():
            text = document_text(ninja_api)
            if options["write"]:
                (repository_root() / relative).write_text(text, encoding="utf-8")
                self.stdout.write(f"wrote {relative}")
            else:
                self.stdout.write(text, ending="")
