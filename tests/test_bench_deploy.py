"""The deploy soak's figures: memory growth given warm-up included and steady (robolang/bench/deploy.py)."""

import pytest
from omegaconf import OmegaConf

from robolang.bench import deploy
from robolang.bench.report import Load


def figures(**changes):
    f = {
        "minutes": 60.0, "steps": 36000, "instructions": 12, "period_s": 0.1,
        "period_ms": {50: 100.0, 99: 100.4, "max": 107.0}, "inference_ms": {50: 13.0, 99: 22.0},
        "age_ms": {50: 0.0, 99: 0.0}, "overruns": 0, "holds": 0, "memory_mb": (1148.0, 1207.0),
        "growth_mb_per_h": 64.4, "steady_growth_mb_per_h": 3.0, "memory_series_mb": [986.0, 1148.0, 1207.0],
        "checkpoint": "runs/deployable", "robot": "sim.robot.PlayTableRobot",
    }  # fmt: skip
    return f | changes


def test_a_working_set_that_levels_off_is_not_steady_growth():
    minutes = [5.0 * i for i in range(13)]  # an hour of 5-minute instructions
    levelling = [1148 + 60 * (1 - 0.6**i) for i in range(13)]  # +60 MB in the first episodes, then flat
    seconds = [60 * m for m in minutes]
    assert 0 < deploy.steady_growth(seconds, levelling) < 10  # the tail of the warm-up only
    leaking = [1148 + 64.0 * m / 60 for m in minutes]  # +64 MB every hour, for ever
    assert deploy.steady_growth(seconds, leaking) == pytest.approx(64.0)


def test_too_few_samples_have_no_steady_rate():
    assert deploy.steady_growth([0.0, 60.0, 120.0], [1.0, 2.0, 3.0]) is None
    assert deploy.steady_growth([0.0] * 8, [1.0] * 8) is None  # no time passed


def test_the_target_is_judged_on_the_steady_rate_and_both_are_written():
    cfg = OmegaConf.create({"time_limit_s": 300, "instructions": ["a", "b"]})
    load = Load(start=1.0, end=1.2)
    text = deploy.section(cfg, figures(), load)
    assert "+64.4 MB per hour, warm-up included" in text and "+3.0 MB per hour" in text
    assert "steady memory growth <= 50 MB/h: meets" in text
    assert "986, 1148, 1207" in text
    leaking = deploy.section(cfg, figures(steady_growth_mb_per_h=64.0), load)
    assert "steady memory growth <= 50 MB/h: MISSES" in leaking
    short = deploy.section(cfg, figures(steady_growth_mb_per_h=None), load)
    assert "not judged" in short
    assert deploy.summary(figures())[0].endswith("memory +64.4 MB/h, steady +3.0 MB/h")
    assert deploy.summary(figures(steady_growth_mb_per_h=None))[0].endswith("steady - MB/h")
