"""What ``robolang caption`` does: hindsight-caption a play dataset, store the labels beside it,
measure their quality against the scripted agent's log, and optionally export the windows.

Everything that can refuse is checked before the work starts: the path is a dataset (given
its stored snapshot folder instead, the dataset that links to it is captioned), the labels
can be stored there (its folder writable, no recorder running), the splits exist and the
export folder is new and writable.
"""

from __future__ import annotations

import re
import time
from pathlib import Path

from robolang.captioning import annotations
from robolang.captioning.config import CaptionConfig
from robolang.captioning.errors import CaptionError
from robolang.captioning.grammar_splits import SPLITS

# Storing labels writes a new snapshot: meta/ copied (an hour of play's annotations are about
# 1 MB), data and videos hard-linked. 16 MiB free leaves room for that many times over.
STORE_FREE_BYTES = 16 * 2**20
_VERSIONS_DIR = re.compile(r"^\.(?P<name>.+)\.versions$")  # robolang.recording.store.versions_dir


def caption_dataset(
    path: str | Path,
    cfg: CaptionConfig = CaptionConfig(),
    export: str | Path | None = None,
    splits: tuple[str, ...] = ("train",),
    dry_run: bool = False,
    captioner: str = "oracle",
    estimator: str | Path | None = None,
) -> int:
    """Caption the dataset at ``path``: replace its labels of this captioner's source (oracle, or
    vision: ``captioner="vision"`` with an ``estimator`` checkpoint; other sources are kept),
    print coverage per task and split and, when the scripted agent's log is there, precision
    and recall; a vision captioning is also compared with the stored oracle labels, if any.
    Returns the number of labels."""
    from robolang.recording.worker import quiet_encoders

    root = dataset_root(path)
    check_not_relabelled(root)
    splits = check_splits(splits)
    if not dry_run:
        check_can_store(root)
    if export:
        check_export_target(Path(export))
    quiet_encoders()
    model = _captioner(cfg, captioner, estimator)
    table, report = _caption(root, model)
    if model.source != "oracle":
        report = (report + "\n\n" if report else "") + _against_oracle(root, table)
    if not dry_run:  # labels and quality report in one crash-safe snapshot
        _store(root, table, report, model.source)
    if export:
        from robolang.captioning.export import export_windows

        n = export_windows(root, export, splits=splits)
        print(f"exported {n} labelled windows ({', '.join(splits)}) as a LeRobotDataset at {export}")
    return len(table)


def _captioner(cfg: CaptionConfig, kind: str, estimator):
    from robolang.captioning.captioner import HindsightCaptioner, VisionCaptioner

    if kind == "oracle":
        return HindsightCaptioner(cfg)
    if kind != "vision":
        raise CaptionError(f"captioner={kind}: choose oracle (the simulator's scene state) or vision (the cameras)")
    if estimator is None:
        raise CaptionError("captioner=vision reads the cameras with a state estimator: estimator=runs/estimator")
    from robolang.perception.checkpoint import load_estimator

    return VisionCaptioner(load_estimator(estimator), cfg)


def _against_oracle(root: Path, table) -> str:
    """Per-task precision and recall of ``table`` against the oracle labels stored in ``root``, printed."""
    from robolang.captioning.vision_quality import compare, format_comparison

    stored = annotations.load(root)
    oracle = stored[stored["source"] == "oracle"]
    if oracle.empty:
        return "no oracle labels in the dataset to compare with"
    text = "against the oracle captioner's labels:\n" + format_comparison(compare(table, oracle))
    print("\n" + text)
    return text


def _caption(root: Path, captioner):
    """The label table and the quality report (None without a behaviour log), both printed."""
    from robolang.captioning.captioner import coverage
    from robolang.captioning.quality import format_quality, measure_dataset
    from robolang.recording.features import BEHAVIOURS_FILE

    started = time.perf_counter()
    table, timing = captioner.caption(root, progress=True)
    if table.empty:
        print(f"no task was completed anywhere in {root}: nothing to label")
    segments = table.drop_duplicates(["episode_index", "start_frame", "end_frame", "task_id", "args"])
    print(
        f"{len(segments)} segments, {len(table)} labels over {timing['frames']} frames "
        f"({timing['frames'] / 36000:.2f} h) in {time.perf_counter() - started:.1f} s; captioner {captioner.version}"
    )
    print(coverage(table).to_string())
    report = None
    if (root / "meta" / BEHAVIOURS_FILE).exists() and not table.empty:
        report = format_quality(*measure_dataset(root, table, captioner.source))
        print("\ncaption quality against the scripted agent's successful behaviours:\n" + report)
    return table, report


def _store(root: Path, table, report: str | None, source: str = "oracle") -> None:
    from robolang.captioning.quality import QUALITY_FILE
    from robolang.dataset_tools import load_episodes

    lengths = {int(e.episode_index): int(e.length) for e in load_episodes(root).itertuples()}
    extra = {QUALITY_FILE: (report + "\n").encode()} if report else None
    kept = annotations.replace_source(root, table, source, lengths, extra)
    print(
        f"stored {len(table)} {source} labels ({len(kept) - len(table)} labels of other sources kept) in {root}/meta/"
    )


def dataset_root(path: str | Path) -> Path:
    """The dataset to caption at ``path``. A recorded dataset is a link to its newest snapshot
    (``.<name>.versions/vNNNNNN``, ``robolang.recording.store``); given that snapshot folder,
    the dataset that links to it is captioned (storing into the snapshot itself would turn it
    into a link of its own and leave the dataset's link dangling later). Any other snapshot
    is refused, as is a folder that is not a LeRobot dataset."""
    path = Path(path)
    versions = _VERSIONS_DIR.match(path.absolute().parent.name)
    if versions is not None:
        link = path.absolute().parent.parent / versions["name"]
        if not (link.is_symlink() and link.resolve() == path.resolve()):
            raise CaptionError(
                f"{path} is a stored snapshot, not the dataset: caption the dataset {link} instead"
                " (a snapshot only it links to is ever captioned)"
            )
        print(f"{path} is the current snapshot of the dataset {link}: captioning {link}")
        path = link
    if not (path / "meta" / "info.json").exists():
        raise CaptionError(f"{path} is not a LeRobot dataset (no meta/info.json)")
    return path


def check_can_store(root: Path) -> None:
    """Labels can be stored at ``root``: the folder holding it and its snapshots folder are
    writable with room to spare, and no recorder is writing it. Checked before any work, so
    a read-only dataset fails at once, not after captioning it."""
    from robolang.recording.store import DatasetStoreError, acquire_lock, check_writable, release_lock, versions_dir

    root = root.absolute()
    for folder in (root.parent, versions_dir(root)):
        try:
            check_writable(folder, STORE_FREE_BYTES)
        except DatasetStoreError as exc:
            raise CaptionError(
                f"cannot store labels in {root}: {exc}; nothing was captioned (--dry-run captions without storing)"
            ) from exc
    lock = acquire_lock(root)
    if lock is None:
        raise CaptionError(f"{root} is being recorded by another process; caption it when the recording is done")
    release_lock(lock)


def check_not_relabelled(root: Path) -> None:
    """Refuse a dataset whose recorded actions are an expert's labels, not what the robot did
    (``robolang dagger``'s): hindsight captions would pair what happened with what was not done."""
    import json

    from robolang.recording.features import INTENTS_FILE

    path = root / "meta" / INTENTS_FILE
    relabelled = json.loads(path.read_text()).get("relabelled") if path.exists() else None
    if relabelled:
        raise CaptionError(
            f"{root} holds relabelled rollouts ({relabelled}): its actions are the expert's, not what the robot did, "
            "so hindsight captions would be wrong; its labels are already stored (source=expert). Train on it with "
            "`robolang train extra_datasets=[...]`"
        )


def check_splits(splits: tuple[str, ...]) -> tuple[str, ...]:
    """The export splits, each one of ``SPLITS``."""
    splits = tuple(s.strip() for s in splits if s.strip())
    unknown = [s for s in splits if s not in SPLITS]
    if unknown or not splits:
        raise CaptionError(f"--splits {','.join(splits)!r} is not allowed: splits are {', '.join(SPLITS)}")
    return splits


def check_export_target(out: Path) -> None:
    """The export folder is new, and the folder it goes in is writable."""
    from robolang.recording.store import DatasetStoreError, check_writable

    if out.exists() or out.is_symlink():
        raise CaptionError(f"--export {out} exists; choose a new folder for the export")
    try:
        check_writable(out.absolute().parent, STORE_FREE_BYTES)
    except DatasetStoreError as exc:
        raise CaptionError(f"cannot export to {out}: {exc}") from exc
