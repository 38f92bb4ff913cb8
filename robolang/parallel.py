"""Running independent jobs in spawned local processes or as Ray tasks, with progress.

``run_jobs(fn, jobs, progress, ray_address)`` calls ``fn(*job, report)`` once per job, each in
its own process (or Ray task), and returns the results in job order. ``report(n)`` sends a
progress count back to the caller's ``progress`` callback through a queue pumped by a thread.
``fn`` must be a module-level function (it is pickled by reference). Used by ``robolang
collect`` and ``robolang eval``.
"""

from __future__ import annotations

import multiprocessing as mp
import threading
from collections.abc import Callable, Sequence


def run_jobs(fn: Callable, jobs: Sequence[tuple], progress: Callable, ray_address: str | None = None) -> list:
    """``[fn(*job, report) for job in jobs]``, in parallel: local processes, or Ray when
    ``ray_address`` is given ("auto", "ray://host:port", or "local" for a local Ray)."""
    return _run_ray(fn, jobs, progress, ray_address) if ray_address else _run_processes(fn, jobs, progress)


def _call(fn: Callable, job: tuple, queue):
    return fn(*job, queue.put)


def _run_processes(fn, jobs, progress) -> list:
    ctx = mp.get_context("spawn")  # pybullet and torch do not survive fork safely
    with ctx.Manager() as manager:
        queue = manager.Queue()  # a proxy: picklable into pool tasks
        stop = threading.Event()
        pump = threading.Thread(target=_pump, args=(queue.get, progress, stop), daemon=True)
        pump.start()
        try:
            with ctx.Pool(len(jobs)) as pool:
                results = [pool.apply_async(_call, (fn, job, queue)) for job in jobs]
                return [r.get() for r in results]
        finally:
            stop.set()
            pump.join(timeout=2)


def _pump(get, progress, stop: threading.Event) -> None:
    while not stop.is_set():
        try:
            progress(get(timeout=0.2))
        except Exception:  # queue.Empty and friends: poll again
            continue


def _run_ray(fn, jobs, progress, ray_address: str) -> list:
    import ray
    from ray.util.queue import Queue

    if not ray.is_initialized():
        address = None if ray_address == "local" else ray_address
        ray.init(address=address, num_cpus=None if address else len(jobs), include_dashboard=False, log_to_driver=False)
    queue = Queue()
    remote = ray.remote(num_cpus=1)(_call)
    refs = [remote.remote(fn, job, queue) for job in jobs]
    stop = threading.Event()
    pump = threading.Thread(
        target=_pump, args=(lambda timeout: queue.get(timeout=timeout), progress, stop), daemon=True
    )
    pump.start()
    try:
        return ray.get(refs)
    finally:
        stop.set()
        pump.join(timeout=2)
