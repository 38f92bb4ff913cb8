"""The evaluation's output folder: checked before any rollout, never replaced silently, and a
journal of finished rollouts so that an interrupted evaluation keeps what it did.

``out/`` holds ``results.json`` and ``report.html`` (written atomically: a crash never leaves a
half file), ``videos/`` and ``rollouts.jsonl``: one line per finished job (its records, one per
controller), appended and flushed as each job ends. The journal's first line is the settings
that decide a rollout's outcome; ``resume=true`` continues a journal written with the same
settings and runs only the jobs it lacks (jobs are seeded and self-contained, so the result is
the one an uninterrupted run gives).
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import threading
from pathlib import Path

from robolang.errors import RobolangError

RESULTS, REPORT, VIDEOS, JOURNAL = "results.json", "report.html", "videos", "rollouts.jsonl"
# Settings that do not change any rollout's outcome (anything else must match to resume).
NOT_IN_FINGERPRINT = ("out", "workers", "ray_address", "videos", "overwrite", "resume", "torch_threads",
                      "worlds", "tasks", "splits", "episodes", "chains", "chain_splits", "bench_out")  # fmt: skip
JOB_KEYS = ("kind", "world", "task", "split", "index", "seed")


class OutputError(RobolangError):
    """An output folder that cannot be written, or holds results that would be replaced."""


def check_out(out: Path, overwrite: bool, resume: bool) -> None:
    """Before any work: ``out`` is a folder we can write, without earlier results unless
    ``overwrite`` (they are cleared later, by ``clear``) or ``resume``."""
    if out.exists() and not out.is_dir():
        raise OutputError(f"out={out} is a file; give a folder for results.json, report.html and videos/")
    try:
        out.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=out, prefix=".write-check-"):
            pass
    except OSError as e:
        raise OutputError(f"out={out} is not writable ({e.strerror or e}); give a folder you can write") from e
    earlier = [name for name in (RESULTS, REPORT, VIDEOS, JOURNAL) if (out / name).exists()]
    if earlier and not overwrite and not resume:
        raise OutputError(
            f"out={out} already holds an evaluation ({', '.join(earlier)}); overwrite=true replaces it, "
            "resume=true continues an interrupted one, or give another out="
        )


def clear(out: Path) -> None:
    """Remove an earlier evaluation's results, report, videos and journal (``overwrite=true``)."""
    for name in (RESULTS, REPORT, JOURNAL):
        (out / name).unlink(missing_ok=True)
    shutil.rmtree(out / VIDEOS, ignore_errors=True)


def write_atomic(path: Path, text: str) -> Path:
    """Write ``text`` to ``path`` through a temporary file renamed into place."""
    tmp = path.with_name(f".{path.name}.partial")
    with open(tmp, "w", encoding="utf-8") as f:
        f.write(text)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)
    return path


def fingerprint(plain: dict) -> dict:
    """The settings a rollout's outcome depends on (robot, worlds' configs, controllers, limits)."""
    return {k: v for k, v in plain.items() if k not in NOT_IN_FINGERPRINT}


def job_key(record: dict) -> tuple:
    return tuple(record.get(k) for k in JOB_KEYS)


class Journal:
    """``out/rollouts.jsonl``: the records of every finished job, one line per job."""

    def __init__(self, out: Path, settings: dict):
        self.path, self.settings = out / JOURNAL, json.loads(json.dumps(settings))
        self.done: dict[tuple, list[dict]] = {}
        if self.path.exists():
            self._read()
        else:
            write_atomic(self.path, json.dumps({"settings": self.settings}) + "\n")
        self._file = open(self.path, "a", encoding="utf-8")  # noqa: SIM115 (closed by close())
        self._lock = threading.Lock()  # worker progress arrives on a pump thread

    def _read(self) -> None:
        lines = self.path.read_text(encoding="utf-8").splitlines()
        header = json.loads(lines[0]) if lines else {}
        if header.get("settings") != self.settings:
            differ = sorted(k for k in {*self.settings, *header.get("settings", {})}
                            if self.settings.get(k) != header.get("settings", {}).get(k))  # fmt: skip
            raise OutputError(
                f"resume=true: {self.path} was written with other settings ({', '.join(differ) or 'unreadable'}); "
                "resume with the same ones, or overwrite=true to start over"
            )
        for line in lines[1:]:
            try:
                records = json.loads(line)
            except ValueError:  # the last line of a killed run may be cut short
                continue
            self.done[job_key(records[0])] = records

    def add(self, records: list[dict]) -> None:
        """Append one finished job's records, flushed to disk before returning."""
        with self._lock:
            self.done[job_key(records[0])] = records
            self._file.write(json.dumps(records) + "\n")
            self._file.flush()
            os.fsync(self._file.fileno())

    def records(self) -> list[dict]:
        return [r for records in self.done.values() for r in records]

    def close(self) -> None:
        self._file.close()
