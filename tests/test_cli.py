"""The command line: the main job writes a real video, bench writes its section, errors are clear."""

import av
import numpy as np
import pytest

from robolang import bench_sim, cli
from robolang.benchmarks import write_section
from robolang.config import ConfigError, load_config
from robolang.motion import RandomWaypointMotion
from robolang.video import VideoWriter, tile_cameras

SMALL = [
    "robot.config.static_width=64",
    "robot.config.static_height=64",
    "robot.config.wrist_width=64",
    "robot.config.wrist_height=48",
]


def decode(path):
    with av.open(str(path)) as container:
        return [f.to_ndarray(format="rgb24") for f in container.decode(video=0)]


def test_play_writes_a_video_of_both_cameras(tmp_path):
    out = tmp_path / "play.mp4"
    assert cli.main(["play", "steps=12", f"out={out}", "upscale=2", *SMALL]) == 0
    frames = decode(out)
    assert len(frames) == 12
    assert frames[0].shape == (128, 256, 3)  # (64 + 64 wide) x 2, height 64 x 2
    assert frames[0].std() > 20  # a scene, not a blank frame
    assert not (tmp_path / "play.mp4.partial").exists()


def test_play_rejects_bad_input_with_a_clear_message(tmp_path, capsys):
    assert cli.main(["play", "world=nonexistent", f"out={tmp_path / 'x.mp4'}"]) == 2
    assert "world" in capsys.readouterr().err
    assert cli.main(["play", "steps=0", f"out={tmp_path / 'x.mp4'}"]) == 2
    assert "steps must be positive" in capsys.readouterr().err
    assert cli.main(["play", f"out={tmp_path / 'x.avi'}", "steps=1"]) == 2
    assert not list(tmp_path.iterdir())


def test_config_composes_world_variants():
    cfg = load_config("play", ["world=heldout"])
    assert cfg.world.heldout is True
    assert cfg.robot.config.world.name == "heldout"  # interpolated into the robot
    with pytest.raises(ConfigError, match="cannot load config"):
        load_config("play", ["robot.config.nope=1"])


def test_bench_sim_records_both_variants_with_provenance(tmp_path):
    out = tmp_path / "BENCHMARKS.md"
    out.write_text("# Benchmarks\n\n<!-- bench:other -->\nkeep me\n<!-- /bench:other -->\n")
    cfg = load_config("bench_sim", ["steps=3", "warmup=1", "single_core=false", f"out={out}", *SMALL])
    results = bench_sim.run(cfg)
    assert [r.steps for r in results] == [3, 3]
    assert all(r.physics_ms > 0 and r.render_ms > 0 for r in results)
    text = out.read_text()
    assert "keep me" in text and "reference: stock-mesh Panda" in text and "commit `" in text
    bench_sim.run(cfg)  # rerun replaces the section instead of appending another
    assert out.read_text().count("<!-- bench:sim -->") == 1


def test_write_section_appends_new_sections(tmp_path):
    path = tmp_path / "B.md"
    write_section(path, "a", "first")
    write_section(path, "b", "second")
    write_section(path, "a", "third")
    text = path.read_text()
    assert "third" in text and "second" in text and "first" not in text


def test_video_writer_discards_partial_file_on_error(tmp_path):
    path = tmp_path / "v.mp4"
    with pytest.raises(RuntimeError), VideoWriter(path, fps=10) as writer:
        writer.write(np.zeros((32, 32, 3), np.uint8))
        raise RuntimeError("crash mid-recording")
    assert not path.exists() and not list(tmp_path.glob("*.partial"))


def test_tile_cameras_pads_and_upscales():
    tiled = tile_cameras([np.ones((4, 6, 3), np.uint8), np.ones((2, 2, 3), np.uint8)], upscale=3)
    assert tiled.shape == (12, 24, 3)


def test_waypoint_motion_moves_towards_waypoints_and_validates_its_box():
    motion = RandomWaypointMotion(low=(0.3, -0.2, 0.05), high=(0.6, 0.2, 0.2), seed=1)
    obs = {"ee.x": 0.45, "ee.y": 0.0, "ee.z": 0.1, "ee.yaw": 0.0}
    action = motion(obs)
    direction = motion.waypoint - np.array([0.45, 0.0, 0.1])
    assert np.all(np.sign([action["dx"], action["dy"], action["dz"]]) == np.sign(direction))
    with pytest.raises(ValueError, match="low < high"):
        RandomWaypointMotion(low=(0.6, 0, 0), high=(0.3, 1, 1))


def test_help_explains_commands(capsys):
    with pytest.raises(SystemExit):
        cli.main(["--help"])
    text = capsys.readouterr().out
    assert "play" in text and "bench" in text and "world=randomized" in text


def test_bench_agent_reports_success_per_skill(tmp_path):
    from robolang import bench_agent

    out = tmp_path / "B.md"
    cfg = load_config("bench_agent", ["seeds=1", "steps=150", "skills=[expert,sloppy]", f"bench_out={out}"])
    results = bench_agent.run(cfg)
    assert set(results) == {"expert", "sloppy"}
    text = out.read_text()
    assert "| behaviour | expert | sloppy |" in text and "Target at `expert`" in text


def test_bench_collect_report_states_the_recording_cost():
    from robolang.bench_collect import Rate, report

    cfg = load_config("bench_collect")
    text = report(cfg, [Rate("bare", 100, 1.0), Rate("collect 1", 80, 1.0), Rate("collect 2", 150, 1.0)])
    assert "Recording cost with one worker: 20%" in text and "meets" in text
