"""Domain randomization: seeded, effective (physics and pixels), validated, and held out.

Runs on variants built here and on every ``configs/world/*.yaml`` (when that folder exists).
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pybullet as pb
import pytest
import yaml

from robolang.config import world_config
from sim.cameras import CameraSpec
from sim.randomization import WorldParams, WorldRandomization, sample
from sim.scene import PlayTableScene, SceneConfig

WORLD_DIR = Path(__file__).resolve().parents[1] / "configs" / "world"

TRAIN = WorldRandomization(
    name="test_train",
    surface_rgb_low=(0.5, 0.4, 0.3),
    surface_rgb_high=(0.9, 0.8, 0.7),
    texture_probability=0.5,
    texture_kinds=("checker", "noise"),
    object_rgb_jitter=0.05,
    light_azimuth_deg=(-80.0, 20.0),
    light_elevation_deg=(50.0, 80.0),
    light_intensity=(0.85, 1.15),
    light_rgb_jitter=0.1,
    camera_eye_jitter_m=0.02,
    camera_target_jitter_m=0.02,
    camera_fov_jitter_deg=2.0,
    friction=(0.7, 1.3),
    mass_scale=(0.8, 1.25),
    joint_damping_scale=(0.7, 1.5),
)
HELDOUT = dataclasses.replace(
    TRAIN,
    name="test_heldout",
    heldout=True,
    surface_rgb_low=(0.1, 0.2, 0.3),
    surface_rgb_high=(0.4, 0.5, 0.6),
    texture_kinds=("stripes", "dots"),
    light_azimuth_deg=(60.0, 150.0),
    light_elevation_deg=(20.0, 40.0),
    light_intensity=(0.55, 0.75),
)


def load_yaml_variants() -> dict[str, WorldRandomization]:
    if not WORLD_DIR.is_dir():
        return {}
    return {p.stem: WorldRandomization.from_dict(world_config(p)) for p in sorted(WORLD_DIR.glob("*.yaml"))}


YAML_VARIANTS = load_yaml_variants()
VARIANTS = {"test_train": TRAIN, "test_heldout": HELDOUT, **{f"yaml:{k}": v for k, v in YAML_VARIANTS.items()}}


def randomizes(cfg: WorldRandomization) -> bool:
    return dataclasses.replace(cfg, name="x", heldout=False) != WorldRandomization(name="x")


RANDOMIZED = sorted(k for k, v in VARIANTS.items() if randomizes(v))
LAYOUT_SEED = 3


def make_scene(world: WorldRandomization = WorldRandomization()) -> PlayTableScene:
    # Small cameras: the checks compare pixels, not look at them.
    return PlayTableScene(
        SceneConfig(static_camera=CameraSpec(64, 64, fov=55.0), wrist_camera=CameraSpec(32, 32, fov=75.0), world=world)
    )


@pytest.fixture
def scenes():
    made: list[PlayTableScene] = []

    def factory(world: WorldRandomization = WorldRandomization()) -> PlayTableScene:
        made.append(make_scene(world))
        return made[-1]

    yield factory
    for s in made:
        s.close()


def test_world_configs_load():
    assert YAML_VARIANTS, f"no world configs in {WORLD_DIR}"
    assert "default" in YAML_VARIANTS
    assert not randomizes(YAML_VARIANTS["default"]), "world/default.yaml should be the stock, unrandomized table"
    assert any(randomizes(v) and not v.heldout for v in YAML_VARIANTS.values()), "no training variant randomizes"


@pytest.mark.parametrize("variant", RANDOMIZED)
def test_same_seed_gives_same_world_and_image(variant, scenes):
    cfg = VARIANTS[variant]
    names = [f"obj{i}" for i in range(5)]
    assert sample(np.random.default_rng(9), cfg, names) == sample(np.random.default_rng(9), cfg, names)

    scene = scenes(cfg)
    scene.reset(9)
    world, image = scene.world, scene.render("static")
    scene.reset(10)
    scene.reset(9)
    assert scene.world == world
    assert np.array_equal(scene.render("static"), image)
    fresh = scenes(cfg)
    fresh.reset(9)
    assert fresh.world == world
    assert np.array_equal(fresh.render("static"), image)


@pytest.mark.parametrize("variant", RANDOMIZED)
def test_different_seeds_give_different_worlds_and_images(variant, scenes):
    cfg = VARIANTS[variant]
    scene = scenes(cfg)
    worlds, images = [], []
    for seed in (0, 1):
        scene.reset(seed)
        worlds.append(scene.world)
        images.append(scene.render("static"))
    a, b = worlds
    if cfg.surface_rgb_low is not None:
        assert a.surface_rgb != b.surface_rgb
    if cfg.object_rgb_jitter:
        assert a.object_rgb_offset != b.object_rgb_offset
    if cfg.light_azimuth_deg[0] != cfg.light_azimuth_deg[1] or cfg.light_elevation_deg[0] != cfg.light_elevation_deg[1]:
        assert a.light_direction != b.light_direction
    if cfg.light_intensity[0] != cfg.light_intensity[1]:
        assert a.light_intensity != b.light_intensity
    if cfg.friction[0] != cfg.friction[1]:
        assert a.friction != b.friction
    assert not np.array_equal(*images)


def _training_randomized() -> WorldRandomization:
    return YAML_VARIANTS.get("randomized", TRAIN)


def test_randomized_world_changes_pybullet_dynamics(scenes):
    stock, randomized = scenes(), scenes(_training_randomized())
    stock.reset(LAYOUT_SEED)
    randomized.reset(LAYOUT_SEED)
    changed_friction = changed_mass = 0
    for name in stock.object_names:
        s_mass, s_friction = pb.getDynamicsInfo(stock.bodies[name], -1, physicsClientId=stock.client)[:2]
        r_mass, r_friction = pb.getDynamicsInfo(randomized.bodies[name], -1, physicsClientId=randomized.client)[:2]
        assert s_friction == pytest.approx(1.0)
        # What pybullet simulates is what the world says.
        assert r_friction == pytest.approx(randomized.world.friction[name])
        assert r_mass == pytest.approx(s_mass * randomized.world.mass_scale[name])
        changed_friction += r_friction != pytest.approx(s_friction)
        changed_mass += r_mass != pytest.approx(s_mass)
    assert changed_friction == len(stock.object_names)
    assert changed_mass == len(stock.object_names)


def test_randomized_world_changes_rendering_for_the_same_layout(scenes):
    scene = scenes()
    scene.reset(LAYOUT_SEED)
    stock_world, stock_image = scene.world, scene.render("static")
    rng = np.random.default_rng(LAYOUT_SEED)
    scene.apply_world(sample(rng, _training_randomized(), list(scene.object_names)))
    assert not np.array_equal(scene.render("static"), stock_image)
    scene.apply_world(stock_world)  # worlds are re-applied from stock, so this undoes all of it
    assert np.array_equal(scene.render("static"), stock_image)


@pytest.mark.parametrize(
    "change",
    [
        {"surface_rgb": (0.2, 0.5, 0.3)},
        {"texture": ("checker", 0)},
        {"object_rgb_offset": {"red_cube": (-0.2, 0.2, 0.2), "plate": (-0.3, -0.3, 0.0)}},
        {"light_direction": (-0.6, 0.5, 0.4)},
        {"light_intensity": 0.6},
        {"light_colour": (1.0, 0.7, 0.6)},
        {"camera_eye_offset": (0.03, -0.03, 0.02)},
        {"camera_fov_offset": 3.0},
    ],
    ids=lambda c: next(iter(c)),
)
def test_each_visual_parameter_reaches_the_image(scenes, change):
    scene = scenes()
    scene.reset(LAYOUT_SEED)
    stock_world, stock_image = scene.world, scene.render("static")
    scene.apply_world(dataclasses.replace(stock_world, **change))
    assert not np.array_equal(scene.render("static"), stock_image)
    scene.apply_world(stock_world)  # and undoing it restores every pixel
    assert np.array_equal(scene.render("static"), stock_image)


def test_from_dict_validates():
    with pytest.raises(ValueError, match="unknown"):
        WorldRandomization.from_dict({"name": "x", "frictoin": [0.5, 1.0]})
    with pytest.raises(ValueError, match="texture kind"):
        WorldRandomization.from_dict({"texture_kinds": ["marble"]})
    with pytest.raises(ValueError, match="surface_rgb"):
        WorldRandomization.from_dict({"surface_rgb_low": [0.1, 0.1, 0.1]})
    as_yaml = yaml.safe_load(yaml.safe_dump(dataclasses.asdict(TRAIN)))  # tuples become lists
    assert WorldRandomization.from_dict(as_yaml) == TRAIN


def test_world_params_round_trip_through_dicts():
    world = sample(np.random.default_rng(4), TRAIN, ["a", "b"])
    assert WorldParams.from_dict(world.to_dict()) == world


# ---- held-out variants -----------------------------------------------------------------------


def _boxes_overlap(lo_a, hi_a, lo_b, hi_b) -> bool:
    """Axis-aligned boxes (closed) overlap iff they overlap along every axis."""
    return all(la <= hb and lb <= ha for la, ha, lb, hb in zip(lo_a, hi_a, lo_b, hi_b, strict=True))


def _lighting_box(cfg: WorldRandomization):
    ranges = (cfg.light_azimuth_deg, cfg.light_elevation_deg, cfg.light_intensity)
    return [r[0] for r in ranges], [r[1] for r in ranges]


def assert_disjoint(heldout: WorldRandomization, train: WorldRandomization) -> None:
    """No lighting and no surface colour the held-out variant can draw can come from ``train``."""
    assert not _boxes_overlap(*_lighting_box(heldout), *_lighting_box(train)), (
        f"lighting of {heldout.name} overlaps {train.name}"
    )
    if heldout.surface_rgb_low is not None and train.surface_rgb_low is not None:
        assert not _boxes_overlap(
            heldout.surface_rgb_low, heldout.surface_rgb_high, train.surface_rgb_low, train.surface_rgb_high
        ), f"surface colours of {heldout.name} overlap {train.name}"
    if heldout.texture_probability and train.texture_probability:
        assert not set(heldout.texture_kinds) & set(train.texture_kinds), (
            f"{heldout.name} shares textures with {train.name}"
        )


def test_overlap_check_itself():
    assert _boxes_overlap(*_lighting_box(TRAIN), *_lighting_box(TRAIN))
    assert _boxes_overlap([0, 0], [1, 1], [1, 1], [2, 2])  # touching counts as overlap
    assert not _boxes_overlap([0, 0], [1, 1], [0.5, 1.5], [0.7, 2])
    assert_disjoint(HELDOUT, TRAIN)
    with pytest.raises(AssertionError, match="lighting"):
        inside = {"light_azimuth_deg": (0.0, 10.0), "light_elevation_deg": (60.0, 70.0), "light_intensity": (0.9, 1.0)}
        assert_disjoint(dataclasses.replace(HELDOUT, **inside), TRAIN)


def test_heldout_world_configs_do_not_overlap_training():
    heldout = [v for v in YAML_VARIANTS.values() if v.heldout]
    train = [v for v in YAML_VARIANTS.values() if not v.heldout]
    assert heldout, "no configs/world/*.yaml with heldout: true"
    for h in heldout:
        assert randomizes(h)
        for t in train:
            assert_disjoint(h, t)


def test_sensor_noise_reaches_the_image_and_nothing_else(scenes):
    clean, noisy = scenes(), scenes(dataclasses.replace(WorldRandomization(name="n"), image_noise_std=(4.0, 4.0)))
    clean.reset(LAYOUT_SEED)
    noisy.reset(LAYOUT_SEED)
    assert noisy.world.image_noise_std == 4.0
    assert dataclasses.replace(noisy.world, image_noise_std=0.0) == clean.world  # the same world otherwise
    for camera in ("static", "wrist"):
        diff = noisy.render(camera).astype(float) - clean.render(camera).astype(float)
        assert 3.0 < diff.std() < 5.0 and abs(diff.mean()) < 0.5  # clipping at 0/255 shaves a little
    assert not np.array_equal(noisy.render("static"), noisy.render("static"))  # fresh noise every frame
    for name in clean.object_names:
        assert clean.scene_state()["objects"][name]["pos"] == noisy.scene_state()["objects"][name]["pos"]
