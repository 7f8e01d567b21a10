"""Where scenario tasks run: in this process, in a local process pool, or on a Ray cluster.

Every executor takes the same task list and yields each finished record; because tasks
depend only on (recipe, seed, index), all three make the same dataset.
"""

from __future__ import annotations

import logging
import multiprocessing as mp
import os
from collections.abc import Iterator
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from typing import Any

from pourbench.core.errors import PourbenchError
from pourbench.datasets.task import run_scenario

log = logging.getLogger(__name__)

#: A scenario whose worker process dies this many times is recorded as failed.
MAX_CRASHES = 3


def threads_per_worker(workers: int) -> int:
    """Taichi/torch threads per worker so that workers x threads <= cores."""
    return max(1, (os.cpu_count() or 1) // max(1, workers))


def _init_worker(arch: str, threads: int) -> None:
    os.environ["OMP_NUM_THREADS"] = str(threads)
    from pourbench.sim.backend import init_taichi

    init_taichi(arch, threads=threads)


def run_serial(recipe: dict, out: str, indices: list[int], arch: str) -> Iterator[dict]:
    _init_worker(arch, threads_per_worker(1))
    for i in indices:
        yield run_scenario(recipe, out, i, arch)


def run_pool(
    recipe: dict, out: str, indices: list[int], arch: str, workers: int, task=run_scenario
) -> Iterator[dict]:
    """A process pool; a crashed worker's scenarios are retried in a fresh pool.

    ``task(recipe, out, index, arch) -> record dict`` must be a picklable top-level function.
    """
    crashes = dict.fromkeys(indices, 0)
    pending = list(indices)
    ctx = mp.get_context("spawn")  # Taichi and EGL state must not be forked
    while pending:
        with ProcessPoolExecutor(
            max_workers=min(workers, len(pending)),
            mp_context=ctx,
            initializer=_init_worker,
            initargs=(arch, threads_per_worker(workers)),
        ) as pool:
            futures = {pool.submit(task, recipe, out, i, arch): i for i in pending}
            pending = []
            try:
                while futures:
                    done, _ = wait(futures, return_when=FIRST_COMPLETED)
                    for fut in done:
                        i = futures.pop(fut)
                        try:
                            yield fut.result()
                        except BrokenProcessPool:
                            crashes[i] += 1
                            if crashes[i] >= MAX_CRASHES:
                                yield _crashed(i, crashes[i])
                            else:
                                pending.append(i)
            except BaseException:
                pool.shutdown(wait=False, cancel_futures=True)
                raise
        if pending:
            log.warning("a worker died; retrying scenarios %s in a fresh pool", sorted(pending))


def _crashed(index: int, attempts: int) -> dict:
    return {
        "scenario_index": index,
        "status": "failed",
        "sequences": [],
        "reason": f"worker process died {attempts} times",
        "attempts": attempts,
        "sim_seconds": 0.0,
        "render_seconds": 0.0,
    }


def run_ray(
    recipe: dict, out: str, indices: list[int], arch: str, address: str | None
) -> Iterator[dict]:
    """One Ray task per scenario, retried by Ray when its worker dies."""
    try:
        import ray
    except ModuleNotFoundError as e:
        raise PourbenchError("--executor ray needs Ray: pip install 'pourbench[ray]'") from e
    started_here = not ray.is_initialized()
    if started_here:
        # no address: a local cluster on this machine's cores
        ray.init(address=address, log_to_driver=False, include_dashboard=False,
                 num_cpus=None if address else os.cpu_count())
    try:
        task = ray.remote(num_cpus=1, max_retries=MAX_CRASHES - 1)(_ray_scenario)
        refs = {task.remote(recipe, out, i, arch): i for i in indices}
        while refs:
            done, _ = ray.wait(list(refs), num_returns=1)
            i = refs.pop(done[0])
            try:
                yield ray.get(done[0])
            except ray.exceptions.RayError as e:
                log.warning("scenario %d failed on Ray: %s", i, e)
                yield {**_crashed(i, MAX_CRASHES), "reason": f"ray: {type(e).__name__}"}
    finally:
        if started_here:
            ray.shutdown()


def _ray_scenario(recipe: dict, out: str, index: int, arch: str) -> dict[str, Any]:
    _init_worker(arch, 1)
    return run_scenario(recipe, out, index, arch)
