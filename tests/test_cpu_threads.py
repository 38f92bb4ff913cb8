"""Torch's CPU threads for a training, and the warning when other work keeps the cores busy."""

import pytest
import torch

from robolang.parallel import busy_cores, cpu_threads


@pytest.fixture
def restore_threads():
    before = torch.get_num_threads()
    yield
    torch.set_num_threads(before)


@pytest.mark.parametrize(
    "threads, others, cores, warns",
    [
        (2, 1.0, 2, True),  # the measured case: two threads beside one busy process on two cores
        (2, 0.1, 2, False),  # the machine to itself
        (1, 1.9, 2, False),  # one thread never competes with itself
        (4, 3.0, 8, False),  # five cores free for four threads
        (4, 5.0, 8, True),
        (2, None, 2, False),  # nothing measured (no /proc): no guess
    ],
)
def test_a_warning_only_when_fewer_cores_are_free_than_threads(threads, others, cores, warns, restore_threads, capsys):
    assert cpu_threads(threads, busy=lambda: others, cores=cores) == threads
    assert torch.get_num_threads() == threads
    said = capsys.readouterr().out
    assert ("warning: torch trains on" in said) == warns
    if warns:
        assert "threads=1" in said and f"of the {cores} cores" in said


def test_no_count_keeps_torch_s_own(restore_threads, capsys):
    torch.set_num_threads(1)
    assert cpu_threads(None, busy=lambda: 0.0, cores=2) == 1


def test_busy_cores_takes_this_process_s_own_time_out():
    samples = iter([(100.0, 5.0), (100.9, 5.3)])  # the machine 0.9 s busy in 0.3 s, 0.3 s of it ours
    assert busy_cores(0.3, sample=lambda: next(samples)) == pytest.approx(2.0)
    samples = iter([(100.0, 5.0), (100.3, 5.3)])  # all of it ours
    assert busy_cores(0.3, sample=lambda: next(samples)) == 0.0


def test_busy_cores_is_none_where_nothing_can_be_read():
    def unreadable():
        raise OSError("no /proc/stat")

    assert busy_cores(0.01, sample=unreadable) is None


def test_busy_cores_reads_this_machine():
    import os

    busy = busy_cores(0.2)
    assert busy is not None and 0.0 <= busy <= (os.cpu_count() or 1) + 0.5
