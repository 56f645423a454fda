"""``madoguchi serve``: the production WSGI server (granian) with the project's settings."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from argparse import ArgumentParser
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from madoguchi.core.env import env_int, env_set_default, env_str

EMBED_THREADS = "MADOGUCHI_CONSULTATION_EMBED_THREADS"


class Command(BaseCommand):
    help = "Serve madoguchi with granian (WSGI). Use this, not runserver, outside development."

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("--host", default=env_str("MADOGUCHI_SERVE_HOST", "127.0.0.1"))
        parser.add_argument("--port", type=int, default=env_int("MADOGUCHI_SERVE_PORT", 8000))
        parser.add_argument("--workers", type=int, default=env_int("MADOGUCHI_SERVE_WORKERS", 2))
        parser.add_argument(
            "--with-worker",
            action="store_true",
            help="also start one background-task worker (madoguchi db_worker) beside the server",
        )
        parser.add_argument(
            "--threads",
            type=int,
            # More threads than admission slots, so that a worker whose slots are busy still
            # answers other pages, and turns crowds away at once (core/admission.py).
            default=env_int("MADOGUCHI_SERVE_THREADS", 8),
            help="blocking threads per worker",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        granian = shutil.which("granian", path=os.path.dirname(sys.executable)) or shutil.which(
            "granian"
        )
        if granian is None:
            raise CommandError("granian is not installed in this environment")
        argv = [
            granian,
            "--interface",
            "wsgi",
            "--host",
            str(options["host"]),
            "--port",
            str(options["port"]),
            "--workers",
            str(options["workers"]),
            "--blocking-threads",
            str(options["threads"]),
            "--no-ws",
            "madoguchi.wsgi:application",
        ]
        if options["with_worker"]:
            # The worker shares this process group, so Ctrl-C (or stopping the group) ends both.
            subprocess.Popen(
                [sys.executable, "-m", "madoguchi.cli", "db_worker", "--interval", "1"]
            )
            self.stdout.write("started a background-task worker")
        # Share the cores among the workers for the embedding model's OpenMP threads: more
        # threads than cores spin against each other, fewer leave a core idle per query.
        env_set_default(EMBED_THREADS, str(embed_threads_per_worker(int(options["workers"]))))
        self.stdout.write(f"serving on http://{options['host']}:{options['port']}/")
        self.stdout.flush()
        os.execv(granian, argv)  # noqa: S606 - replaces this process with the server


def embed_threads_per_worker(workers: int, cores: int | None = None) -> int:
    """The machine's cores divided among the server's worker processes, at least one each."""
    available = cores if cores is not None else len(os.sched_getaffinity(0))
    return max(1, available // max(1, workers))
