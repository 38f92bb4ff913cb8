"""Running independent jobs in spawned local processes or as Ray tasks, with progress and Ctrl-C.

``run_jobs(fn, jobs, progress, ray_address)`` calls ``fn(*job, report)`` once per job, each in
its own process (or Ray task), and returns the results in job order. ``report(n)`` sends a
progress count back to the caller's ``progress`` callback. ``fn`` must be a module-level
function (it is pickled by reference). Used by ``robolang collect`` and ``robolang eval``.

Stopping. Without ``stop``, Ctrl-C terminates the workers and raises ``KeyboardInterrupt``.
With a ``GracefulStop`` installed by the caller, the first Ctrl-C asks every job to stop at its
next safe point (a job polls ``stop_requested()``) and the results are still collected; the
second terminates the workers and raises ``KeyboardInterrupt``. A terminal sends Ctrl-C to the
whole process group, workers included, so a worker's own SIGINT only sets its stop flag too.
Workers start with SIGINT ignored (the one disposition a spawned child inherits), so a Ctrl-C
while they import cannot kill them; the caller's flag tells them of it once they run.

``cpu_threads(threads)`` sets torch's CPU threads for a training and warns when other processes
leave fewer cores free than that (``busy_cores``): threads competing for busy cores ran 10x slower.
"""

from __future__ import annotations

import ctypes
import multiprocessing as mp
import os
import signal
import threading
import traceback
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from multiprocessing.connection import wait
from pathlib import Path

# In a worker process: the caller's shared stop flag, its pid, and whether SIGINT arrived.
_FLAG = None
_PARENT: int | None = None
_SIGNALLED = False


def cpu_threads(threads: int | None, busy: Callable[[], float | None] | None = None, cores: int | None = None) -> int:
    """Set torch's CPU threads to ``threads`` (None: torch's default) and return the count; warn
    when other processes keep so many cores busy right now that fewer are free than that. Measured
    on the 2-core machine: a 2-thread training beside another busy process ran about 10x slower
    (2.6 s a step instead of 0.2), where one thread kept its pace."""
    import torch

    if threads is not None:
        torch.set_num_threads(int(threads))
    n = torch.get_num_threads()
    if n == 1:
        return n  # one thread never waits on itself
    cores = cores or os.cpu_count() or 1
    others = (busy or busy_cores)()
    if others is not None and cores - others < n - 0.5:
        print(
            f"warning: torch trains on {n} threads while other processes keep {others:.1f} of the {cores} cores "
            "busy; threads competing for busy cores slowed training up to 10x (measured): pass threads=1 (or as "
            "many as the free cores), or train when the other work has finished",
            flush=True,
        )
    return n


def busy_cores(interval: float = 0.3, sample: Callable[[], tuple[float, float]] | None = None) -> float | None:
    """How many cores other processes keep busy, measured over ``interval`` seconds (this process's own
    time taken out); None where ``/proc/stat`` is not there to read. ``sample``: (busy seconds of the
    whole machine, this process's seconds), ``cpu_seconds`` by default."""
    import time

    sample = sample or cpu_seconds
    try:
        busy0, own0 = sample()
        time.sleep(interval)
        busy1, own1 = sample()
    except (OSError, ValueError, IndexError):
        return None
    return max(0.0, (busy1 - busy0) - (own1 - own0)) / interval


def cpu_seconds() -> tuple[float, float]:
    """(CPU seconds every core has spent busy since boot, this process's own CPU seconds)."""
    fields = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    own = os.times()
    return (sum(fields) - fields[3] - fields[4]) / os.sysconf("SC_CLK_TCK"), own.user + own.system


class GracefulStop:
    """Ctrl-C handling for a long run in the main thread: the first Ctrl-C sets ``requested``
    and runs the callbacks (stop at the next safe point, save what is worth saving); the second
    raises ``KeyboardInterrupt`` at once. Calling the object returns ``requested``."""

    def __init__(self, notice: str | None = None):
        self.requested = False
        self.notice = notice  # printed once, at the first Ctrl-C
        self._callbacks: list[Callable[[], None]] = []
        self._previous = None

    def __call__(self) -> bool:
        return self.requested

    def add_callback(self, callback: Callable[[], None]) -> None:
        self._callbacks.append(callback)
        if self.requested:
            callback()

    def __enter__(self) -> GracefulStop:
        if threading.current_thread() is threading.main_thread():
            self._previous = signal.signal(signal.SIGINT, self._handle)
        return self

    def __exit__(self, *exc) -> None:
        if self._previous is not None:
            signal.signal(signal.SIGINT, self._previous)
            self._previous = None

    def _handle(self, signum, frame) -> None:
        if self.requested:
            raise KeyboardInterrupt
        self.requested = True
        if self.notice:
            print(self.notice, flush=True)
        for callback in self._callbacks:
            callback()


def stop_requested() -> bool:
    """In a job: True once the caller asked the jobs to stop, the worker received Ctrl-C, or
    the caller died (an orphaned worker saves its episode and ends instead of running on)."""
    return _SIGNALLED or (_FLAG is not None and bool(_FLAG.value)) or (_PARENT is not None and os.getppid() != _PARENT)


def run_jobs(
    fn: Callable,
    jobs: Sequence[tuple],
    progress: Callable,
    ray_address: str | None = None,
    stop: GracefulStop | None = None,
) -> list:
    """``[fn(*job, report) for job in jobs]``, in parallel: local processes, or Ray when
    ``ray_address`` is given ("auto", "ray://host:port", or "local" for a local Ray).

    With ``stop``, a failed job asks the others to stop too, and its error is raised once they
    have; without it, the first failure terminates the others."""
    if ray_address:
        return _run_ray(fn, jobs, progress, ray_address, stop)
    return _run_processes(fn, jobs, progress, stop)


def _note_sigint(signum, frame) -> None:
    global _SIGNALLED
    _SIGNALLED = True


def _job_main(fn: Callable, job: tuple, conn, flag, stoppable: bool) -> None:
    """Entry point of a worker process: run the job, send progress and the result on ``conn``."""
    global _FLAG, _PARENT
    _FLAG, _PARENT = flag, os.getppid()
    if stoppable:
        signal.signal(signal.SIGINT, _note_sigint)
    try:
        value = fn(*job, lambda n: conn.send(("progress", n)))
        conn.send(("done", value))
    except BaseException as exc:
        conn.send(("failed", _portable(exc), traceback.format_exc()))
    finally:
        conn.close()


def _portable(exc: BaseException) -> BaseException:
    """The exception itself when it pickles, else a RuntimeError with its text."""
    import pickle

    try:
        pickle.loads(pickle.dumps(exc))
        return exc
    except Exception:
        return RuntimeError(f"{type(exc).__name__}: {exc}")


@contextmanager
def _spawning_with_sigint_ignored(stoppable: bool) -> Iterator[None]:
    """While children are spawned, SIGINT is ignored (what they inherit: a Ctrl-C during their
    start-up cannot kill them) and blocked here (so the caller's own Ctrl-C waits, not lost)."""
    if not stoppable or threading.current_thread() is not threading.main_thread():
        yield
        return
    before = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
    handler = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, handler)
        signal.pthread_sigmask(signal.SIG_SETMASK, before)


def _run_processes(fn, jobs, progress, stop: GracefulStop | None) -> list:
    ctx = mp.get_context("spawn")  # pybullet and torch do not survive fork safely
    flag = ctx.RawValue(ctypes.c_bool, False)  # lock-free: a worker killed while reading it blocks no one
    procs, conns = [], []
    try:
        with _spawning_with_sigint_ignored(stop is not None):
            for job in jobs:
                reader, writer = ctx.Pipe(duplex=False)
                proc = ctx.Process(target=_job_main, args=(fn, job, writer, flag, stop is not None), daemon=False)
                proc.start()
                writer.close()  # the child's copy is the only writer: EOF tells us it ended
                procs.append(proc)
                conns.append(reader)
            if stop is not None:
                stop.add_callback(lambda: setattr(flag, "value", True))
        outcomes = _gather(conns, progress, flag, stop is not None, procs)
    except BaseException:
        for proc in procs:
            if proc.is_alive():
                proc.terminate()
        raise
    finally:
        for proc in procs:
            proc.join()
    return _results(outcomes, procs)


def _gather(conns, progress, flag, stoppable: bool, procs) -> dict[int, tuple]:
    """Pump progress and collect each job's outcome until every worker has ended."""
    outcomes: dict[int, tuple] = {}
    alive = {id(c): i for i, c in enumerate(conns)}
    while alive:
        for conn in wait([conns[i] for i in alive.values()], timeout=0.5):
            i = alive[id(conn)]
            try:
                message = conn.recv()
            except (EOFError, OSError):  # the worker ended (after its result, or killed)
                del alive[id(conn)]
                continue
            if message[0] == "progress":
                progress(message[1])
                continue
            outcomes[i] = message
            if message[0] == "failed" and stoppable:
                flag.value = True  # the others save what they have and end
            elif message[0] == "failed":
                for proc in procs:
                    proc.terminate()
    return outcomes


def _results(outcomes: dict[int, tuple], procs) -> list:
    """Job results in order; a job's error is raised first, then a worker that died silently."""
    for outcome in outcomes.values():
        if outcome[0] == "failed":
            exc = outcome[1]
            exc.__cause__ = RemoteTraceback(outcome[2])
            raise exc
    for i, proc in enumerate(procs):
        if i not in outcomes:
            raise RuntimeError(f"worker {i} ended without a result (exit code {proc.exitcode})")
    return [outcomes[i][1] for i in range(len(procs))]


class RemoteTraceback(Exception):
    """A worker's traceback, attached as the cause of the error it raised."""

    def __str__(self) -> str:
        return "\n" + self.args[0]


def _run_ray(fn, jobs, progress, ray_address: str, stop: GracefulStop | None) -> list:
    import ray
    from ray.util.queue import Queue

    if not ray.is_initialized():
        address = None if ray_address == "local" else ray_address
        ray.init(address=address, num_cpus=None if address else len(jobs), include_dashboard=False, log_to_driver=False)
    queue = Queue()
    remote = ray.remote(num_cpus=1)(_call_ray)
    refs = [remote.remote(fn, job, queue) for job in jobs]
    halt = threading.Event()
    pump = threading.Thread(target=_pump, args=(queue, progress, halt), daemon=True)
    pump.start()
    try:
        cancelled = False
        while len(ray.wait(refs, num_returns=len(refs), timeout=0.5)[0]) < len(refs):
            if stop is not None and stop.requested and not cancelled:
                for ref in refs:  # a Ray task receives KeyboardInterrupt: the episode in progress is saved
                    ray.cancel(ref)
                cancelled = True
        return [_ray_result(ray, ref, cancelled) for ref in refs]
    finally:
        halt.set()
        pump.join(timeout=2)


def _call_ray(fn: Callable, job: tuple, queue):
    return fn(*job, queue.put)


def _ray_result(ray, ref, cancelled: bool):
    try:
        return ray.get(ref)
    except ray.exceptions.TaskCancelledError:
        if not cancelled:
            raise
        return None


def _pump(queue, progress, halt: threading.Event) -> None:
    while not halt.is_set():
        try:
            progress(queue.get(timeout=0.2))
        except Exception:  # queue.Empty and friends: poll again
            continue
