"""``madoguchi serve``: the production WSGI server (granian) with the project's settings."""

from __future__ import annotations

import os
import shutil
import sys
from argparse import ArgumentParser
from collections.abc import Sequence
from typing import Any

from django.core.management.base import BaseCommand, CommandError
from django.db import connection

from madoguchi.core.env import env_int, env_set_default, env_str
from madoguchi.core.supervisor import Supervisor
from madoguchi.core.taskrecovery import tasks_requeue_lost

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
            help=(
                "also run background-task workers (madoguchi task_worker) beside the server,"
                " restarted when they exit and stopped with it"
            ),
        )
        parser.add_argument(
            "--task-workers",
            type=int,
            default=env_int("MADOGUCHI_SERVE_TASK_WORKERS", 1),
            help="how many task workers --with-worker runs",
        )
        parser.add_argument(
            "--respawn-interval",
            type=float,
            default=float(env_str("MADOGUCHI_SERVE_RESPAWN_INTERVAL", "5")),
            help="seconds a new server worker gets to start before the old one stops (SIGHUP)",
        )
        parser.add_argument(
            "--stop-timeout",
            type=int,
            default=env_int("MADOGUCHI_SERVE_STOP_TIMEOUT", 30),
            help="seconds a stopping worker may take to finish its requests before it is killed",
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
            # A worker that dies (kill -9, out of memory) is replaced instead of taking the
            # whole server down; granian gives up only on a crash loop (twice within 5.5 s).
            "--respawn-failed-workers",
            "--respawn-interval",
            str(options["respawn_interval"]),
            "--workers-kill-timeout",
            str(options["stop_timeout"]),
            "madoguchi.wsgi:application",
        ]
        # Share the cores among the workers for the embedding model's OpenMP threads: more
        # threads than cores spin against each other, fewer leave a core idle per query.
        env_set_default(EMBED_THREADS, str(embed_threads_per_worker(int(options["workers"]))))
        self.stdout.write(f"serving on http://{options['host']}:{options['port']}/")
        self.stdout.flush()
        if not options["with_worker"]:
            os.execv(granian, argv)  # noqa: S606 - replaces this process with the server
        connection.close()  # the children open their own
        supervisor = Supervisor(
            server_argv=argv,
            worker_argv=task_worker_argv,
            task_workers=max(1, int(options["task_workers"])),
            on_worker_lost=_requeue_lost,
            stop_timeout=float(options["stop_timeout"]),
        )
        sys.exit(supervisor.run())


def task_worker_argv(worker_id: str) -> Sequence[str]:
    return [
        sys.executable,
        "-m",
        "madoguchi.cli",
        "task_worker",
        "--interval",
        "1",
        "--no-reload",
        "--worker-id",
        worker_id,
    ]


def _requeue_lost(worker_id: str) -> None:
    try:
        tasks_requeue_lost(worker_id=worker_id)
    finally:
        connection.close()


def embed_threads_per_worker(workers: int, cores: int | None = None) -> int:
    """The machine's cores divided among the server's worker processes, at least one each."""
    available = cores if cores is not None else len(os.sched_getaffinity(0))
    return max(1, available // max(1, workers))
