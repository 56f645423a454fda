"""``madoguchi serve`` shares the cores among its workers for the embedding model's threads."""

from __future__ import annotations

import pytest

from madoguchi.core.management.commands.serve import embed_threads_per_worker


@pytest.mark.parametrize(
    ("workers", "cores", "threads"),
    [(2, 2, 1), (1, 2, 2), (4, 16, 4), (3, 8, 2), (8, 2, 1), (0, 4, 4)],
)
def test_each_worker_gets_its_share_of_the_cores_and_at_least_one(
    workers: int, cores: int, threads: int
) -> None:
    assert embed_threads_per_worker(workers, cores=cores) == threads


def test_without_a_core_count_the_cores_this_process_may_use_are_shared() -> None:
    assert embed_threads_per_worker(1) >= 1
