"""The PyBullet play table: a Panda, four blocks, a plate, a drawer, a sliding door, a button
and a lamp, stepped at 10 Hz control over 240 Hz physics.

``PlayTableScene`` owns one pybullet client (headless) and one seeded RNG. ``reset(seed)``
restores a pristine snapshot, samples a world and a layout from that seed, and settles, so
the same seed and the same actions give bit-identical observations.
"""

from __future__ import annotations

import copy
from collections import deque
from dataclasses import dataclass, field, replace

import numpy as np
import pybullet as pb

from robolang.features import CONTROL_FPS, PHYSICS_HZ, STATE_NAMES
from sim import assets
from sim.backdrop import TableBackdrop
from sim.cameras import (
    STATIC_EYE,
    STATIC_TARGET,
    CameraSpec,
    Lighting,
    enable_egl,
    gpu_present,
    render_rgb_depth,
    render_segmentation,
    segment_id,
    static_view,
    wrist_view,
)
from sim.panda import PandaArm, Workspace
from sim.randomization import WorldParams, WorldRandomization, sample, texture_path
from sim.state import SceneVector, body_state, contacts, set_body_state, yaw_from_quat

SURFACE_LINKS = ("table", "drawer_cabinet", "slider_cabinet")
SURFACE_TABLE, SURFACE_CABINET = 1, 2  # ``surface_labels``: what a pixel shows of the surfaces a world colours


@dataclass(frozen=True)
class SceneConfig:
    """How the play table is built and rendered. Defaults are the fast, unrandomized table."""

    static_camera: CameraSpec = CameraSpec(128, 128, fov=54.0)
    # The wrist camera's default matches the static one: both 128x128 (DESIGN.md target).
    wrist_camera: CameraSpec = CameraSpec(128, 128, fov=75.0)
    panda_fidelity: str = "fast"  # fast: collision meshes as visuals; high: stock meshes
    shadows: bool = False  # TinyRenderer shadows cost ~1.7x per frame (measured)
    # Render the static table once per world and composite it (sim/backdrop.py): the table
    # is ~45% of TinyRenderer's frame time. Ignored with shadows, textures or EGL.
    table_backdrop: bool = True
    # Resting objects sleep (no solver or narrow-phase work) until something touches them:
    # physics time per control step drops ~45% (measured). Deterministic, and get_state /
    # set_state re-seat sleeping bodies (a sleeping body has exactly zero velocity).
    object_sleeping: bool = True
    renderer: str = "auto"  # auto: EGL when a GPU is present, else TinyRenderer | tiny | egl
    gui: bool = False  # open a PyBullet GUI window (needs a display; for keyboard teleoperation)
    control_hz: int = CONTROL_FPS
    physics_hz: int = PHYSICS_HZ
    settle_steps: int = 48  # physics steps after reset so objects come to rest (0.2 s)
    # pybullet's default is 50; 30 keeps stacks stable here and saves ~25% physics time.
    solver_iterations: int = 30
    workspace: Workspace = field(default_factory=Workspace)
    world: WorldRandomization = field(default_factory=WorldRandomization)

    @property
    def substeps(self) -> int:
        if self.physics_hz % self.control_hz:
            raise ValueError(f"physics_hz {self.physics_hz} must be a multiple of control_hz {self.control_hz}")
        return self.physics_hz // self.control_hz


class PlayTableScene:
    """The play table world in one headless pybullet client."""

    def __init__(self, config: SceneConfig = SceneConfig()):
        self.config = config
        self.client = pb.connect(pb.GUI if config.gui else pb.DIRECT)
        if config.gui:
            pb.configureDebugVisualizer(pb.COV_ENABLE_GUI, 0, physicsClientId=self.client)
            pb.resetDebugVisualizerCamera(1.3, 90, -35, [0.45, 0.0, 0.0], physicsClientId=self.client)
        self.hardware_render = False
        if config.renderer == "egl" or (config.renderer == "auto" and gpu_present()):
            self.hardware_render = enable_egl(self.client)
            if config.renderer == "egl" and not self.hardware_render:
                raise RuntimeError("renderer='egl' requested but pybullet's EGL plugin could not be loaded")
        self.objects = assets.OBJECTS
        self.object_names = tuple(o.name for o in self.objects)
        self.vector = SceneVector(self.object_names)
        self._textures: dict[tuple[str, int], int] = {}
        self.backdrop = TableBackdrop() if config.table_backdrop else None
        self._build()
        self.rng = np.random.default_rng(0)
        self._pixel_rng = np.random.default_rng(0)
        self.world = WorldParams()
        self.light_on = False
        self._button_latched = False
        self.step_count = 0
        self._pending: deque[np.ndarray] = deque()
        self._restored: dict | None = None

    # ---- construction -----------------------------------------------------------------------
    def _rebuild(self) -> None:
        """Rebuild the world from nothing (~25 ms). pybullet's restoreState leaves contact
        caches behind, so only a rebuild makes a reset independent of what came before."""
        pb.resetSimulation(physicsClientId=self.client)
        self._textures.clear()
        self._build()

    def _build(self) -> None:
        c = self.client
        pb.setGravity(0, 0, -9.81, physicsClientId=c)
        pb.setPhysicsEngineParameter(
            fixedTimeStep=1.0 / self.config.physics_hz,
            numSolverIterations=self.config.solver_iterations,
            deterministicOverlappingPairs=1,
            physicsClientId=c,
        )
        self.desk = pb.loadURDF(assets.write_asset("desk", assets.desk_urdf()), useFixedBase=True, physicsClientId=c)
        self.desk_links = {"table": -1}
        self.desk_joints = {}
        for j in range(pb.getNumJoints(self.desk, physicsClientId=c)):
            info = pb.getJointInfo(self.desk, j, physicsClientId=c)
            self.desk_links[info[12].decode()] = j
            self.desk_joints[info[1].decode()] = j
        self.bodies = {}
        for spec in self.objects:
            path = assets.write_asset(spec.name, assets.object_urdf(spec))
            body = pb.loadURDF(path, [0.5, 0, 0.1], physicsClientId=c)
            if self.config.object_sleeping:
                pb.changeDynamics(body, -1, activationState=pb.ACTIVATION_STATE_ENABLE_SLEEPING, physicsClientId=c)
            self.bodies[spec.name] = body
        panda_path = assets.write_asset(
            f"panda_{self.config.panda_fidelity}", assets.panda_urdf(self.config.panda_fidelity)
        )
        self.robot = pb.loadURDF(panda_path, useFixedBase=True, flags=pb.URDF_USE_INERTIA_FROM_FILE, physicsClientId=c)
        if self.config.panda_fidelity == "fast":
            self._colour_fast_panda()
        self.arm = PandaArm(c, self.robot, self.config.workspace)
        # Couple the fingers (as pybullet's Panda example does): uncoupled, a held object
        # floats up to 2 cm between them along the closing axis (measured).
        gear = pb.createConstraint(
            self.robot, 9, self.robot, 10, pb.JOINT_GEAR, [1, 0, 0], [0, 0, 0], [0, 0, 0], physicsClientId=c
        )
        pb.changeConstraint(gear, gearRatio=-1, erp=0.1, maxForce=50, physicsClientId=c)
        self._entity_names = {(self.desk, link): name for name, link in self.desk_links.items()}
        self._entity_names.update({(b, -2): name for name, b in self.bodies.items()})
        # Stock colour of every visual shape, keyed (body, link, index of the shape in its link).
        self._stock_rgba = {}
        for b in (self.desk, *self.bodies.values()):
            for v in pb.getVisualShapeData(b, physicsClientId=c):
                index = sum(1 for key in self._stock_rgba if key[:2] == (b, v[1]))
                self._stock_rgba[(b, v[1], index)] = v[7]
        self._base_mass = {n: pb.getDynamicsInfo(b, -1, physicsClientId=c)[0] for n, b in self.bodies.items()}

    def _colour_fast_panda(self) -> None:
        # Collision meshes carry no materials: paint links white and the hand dark, as on the real arm.
        for link in range(-1, pb.getNumJoints(self.robot, physicsClientId=self.client)):
            rgba = (0.25, 0.25, 0.27, 1) if link >= 7 else (0.93, 0.93, 0.93, 1)
            pb.changeVisualShape(self.robot, link, rgbaColor=rgba, physicsClientId=self.client)

    # ---- reset ------------------------------------------------------------------------------
    def reset(self, seed: int | None = None) -> None:
        """Restore the pristine world, then sample world, layout and fixture states from ``seed``."""
        self.rng = np.random.default_rng(seed)
        self._pixel_rng = np.random.default_rng(seed)  # sensor noise: its own stream, so physics draws stay
        self._restored = None
        self._rebuild()
        self.apply_world(sample(self.rng, self.config.world, list(self.object_names)))
        self._place_objects()
        self._set_fixture(
            self.desk_joints["drawer"], float(self.rng.choice([0.0, self.rng.uniform(0, assets.DRAWER_TRAVEL)]))
        )
        self._set_fixture(self.desk_joints["slider"], float(self.rng.uniform(0, assets.SLIDER_TRAVEL)))
        self._set_fixture(self.desk_joints["button"], 0.0)
        self._set_light(bool(self.rng.random() < 0.5))
        self._button_latched = False
        self.arm.reset_home()
        self._drive_fixtures()
        for _ in range(self.config.settle_steps):
            pb.stepSimulation(physicsClientId=self.client)
        self.step_count = 0
        self._pending = deque(self._hold_action() for _ in range(self.world.action_latency_steps))

    def _hold_action(self) -> np.ndarray:
        return np.array([0.0, 0.0, 0.0, 0.0, -1.0])

    def _place_objects(self) -> None:
        lo, hi = np.asarray(assets.OBJECT_REGION_LOW), np.asarray(assets.OBJECT_REGION_HIGH)
        placed: list[tuple[np.ndarray, float]] = []
        for spec in sorted(self.objects, key=lambda s: -_footprint(s)):  # big things first
            radius = _footprint(spec)
            for _ in range(200):
                xy = self.rng.uniform(lo, hi)
                if all(np.linalg.norm(xy - p) > radius + r + 0.01 for p, r in placed):
                    break
            else:
                raise RuntimeError(f"could not place {spec.name} without overlap; the object region is too small")
            placed.append((xy, radius))
            yaw = float(self.rng.uniform(-np.pi, np.pi))
            quat = pb.getQuaternionFromEuler((0, 0, yaw))
            pos = [float(xy[0]), float(xy[1]), spec.half_height + 0.001]
            pb.resetBasePositionAndOrientation(self.bodies[spec.name], pos, quat, physicsClientId=self.client)

    def _set_fixture(self, joint: int, value: float) -> None:
        pb.resetJointState(self.desk, joint, value, 0.0, physicsClientId=self.client)

    def _drive_fixtures(self) -> None:
        """Drawer and door hold where they are left (motor as friction); the button springs back."""
        c, d = self.client, self.desk
        friction = 2.0 * self.world.joint_damping_scale  # N: light enough for the Panda to slide
        for name in ("drawer", "slider"):
            pb.setJointMotorControl2(
                d, self.desk_joints[name], pb.VELOCITY_CONTROL, targetVelocity=0, force=friction, physicsClientId=c
            )
        pb.setJointMotorControl2(
            d, self.desk_joints["button"], pb.POSITION_CONTROL, targetPosition=0.0, force=6.0, physicsClientId=c
        )

    # ---- world (domain randomization) ---------------------------------------------------------
    def apply_world(self, world: WorldParams) -> None:
        """Apply colours, textures, dynamics and perturbations of one sampled world."""
        c = self.client
        self.world = world
        for (body, link, index), rgba in self._stock_rgba.items():
            pb.changeVisualShape(body, link, shapeIndex=index, rgbaColor=rgba, textureUniqueId=-1, physicsClientId=c)
        if world.surface_rgb is not None:
            for k, name in enumerate(SURFACE_LINKS):
                shade = 1.0 - 0.25 * k  # cabinets darker than the table so they stay distinguishable
                rgba = [*(v * shade for v in world.surface_rgb), 1.0]
                pb.changeVisualShape(self.desk, self.desk_links[name], rgbaColor=rgba, physicsClientId=c)
        if world.texture is not None:
            pb.changeVisualShape(
                self.desk, -1, textureUniqueId=self._texture(world.texture), rgbaColor=[1, 1, 1, 1], physicsClientId=c
            )
        for spec in self.objects:
            body = self.bodies[spec.name]
            offset = world.object_rgb_offset.get(spec.name, (0.0, 0.0, 0.0))
            rgba = [float(np.clip(v + o, 0, 1)) for v, o in zip(spec.rgba[:3], offset, strict=True)] + [1.0]
            pb.changeVisualShape(body, -1, rgbaColor=rgba, physicsClientId=c)
            pb.changeDynamics(
                body,
                -1,
                lateralFriction=world.friction.get(spec.name, 1.0),
                rollingFriction=spec.rolling_friction,
                mass=self._base_mass[spec.name] * world.mass_scale.get(spec.name, 1.0),
                physicsClientId=c,
            )
        self._set_light(self.light_on)
        if self._backdrop_active():
            table_rgba = pb.getVisualShapeData(self.desk, physicsClientId=c)[0][7]
            pb.changeVisualShape(self.desk, -1, rgbaColor=[0, 0, 0, 0], physicsClientId=c)
            self.backdrop.update(table_rgba, *self._static_camera(), self.lighting())

    def _backdrop_active(self) -> bool:
        cfg = self.config
        return self.backdrop is not None and not (cfg.shadows or self.hardware_render or self.world.texture)

    def _texture(self, key: tuple[str, int]) -> int:
        if key not in self._textures:
            self._textures[key] = pb.loadTexture(texture_path(*key), physicsClientId=self.client)
        return self._textures[key]

    def lighting(self) -> Lighting:
        w = self.world
        return replace(
            Lighting(),
            direction=w.light_direction,
            colour=w.light_colour,
            ambient=Lighting.ambient * w.light_intensity,
            diffuse=Lighting.diffuse * w.light_intensity,
        )

    def _set_light(self, on: bool) -> None:
        self.light_on = on
        rgba = assets.LAMP_ON if on else assets.LAMP_OFF
        pb.changeVisualShape(self.desk, self.desk_links["lamp"], rgbaColor=rgba, physicsClientId=self.client)

    # ---- stepping ------------------------------------------------------------------------------
    @property
    def in_flight(self) -> tuple[np.ndarray, ...]:
        """Actions sent but not yet applied (``world.action_latency_steps`` of them), oldest first."""
        return tuple(a.copy() for a in self._pending)

    def step(self, delta: np.ndarray) -> np.ndarray:
        """Apply one scaled action (dx, dy, dz [m], dyaw [rad], gripper) and simulate one control step.

        With action latency the delta applied now is the one sent ``latency`` steps ago; action
        noise is added in physical units. Returns the delta really applied.
        """
        if self.world.action_latency_steps:
            self._pending.append(np.asarray(delta, dtype=np.float64))
            delta = self._pending.popleft()
        if self.world.action_noise_std:
            noise = self.rng.normal(0.0, self.world.action_noise_std, size=4) * 0.02
            delta = delta.copy()
            delta[:4] += noise
        self._restored = None
        applied = self.arm.apply_delta(delta)
        button = self.desk_joints["button"]
        for _ in range(self.config.substeps):
            pb.stepSimulation(physicsClientId=self.client)
            self._update_button(pb.getJointState(self.desk, button, physicsClientId=self.client)[0])
        self.step_count += 1
        return applied

    def _update_button(self, position: float) -> None:
        # Toggle once per press: past 60% of travel counts as pressed, above 30% as released (hysteresis).
        if not self._button_latched and position < -0.6 * assets.BUTTON_TRAVEL:
            self._button_latched = True
            self._set_light(not self.light_on)
        elif self._button_latched and position > -0.3 * assets.BUTTON_TRAVEL:
            self._button_latched = False

    # ---- observation ---------------------------------------------------------------------------
    def proprioception(self) -> np.ndarray:
        """(12,) float32 ordered as ``robolang.features.STATE_NAMES``."""
        pos, yaw = self.arm.ee_pose()
        values = [*pos, yaw, self.arm.gripper_width(), *self.arm.joint_positions()]
        assert len(values) == len(STATE_NAMES)
        return np.asarray(values, dtype=np.float32)

    def _camera(self, camera: str) -> tuple[CameraSpec, list[float]]:
        if camera == "static":
            return self._static_camera()
        if camera == "wrist":
            return self.config.wrist_camera, wrist_view(*self.arm.wrist_camera_pose())
        raise ValueError(f"unknown camera {camera!r}; cameras are 'static' and 'wrist'")

    def render(self, camera: str) -> np.ndarray:
        """uint8 (H, W, 3) image of the ``static`` or ``wrist`` camera."""
        spec, view = self._camera(camera)
        rgb, depth = render_rgb_depth(
            self.client, spec, view, self.lighting(), self.config.shadows, self.hardware_render
        )
        if self._backdrop_active():
            if camera == "static":
                rgb = self.backdrop.composite_static(rgb, depth)
            else:
                rgb = self.backdrop.composite_wrist(rgb, depth, spec, view)
        return self._sensor_noise(rgb)

    def surface_labels(self, camera: str) -> np.ndarray:
        """(H, W) uint8 of what ``render(camera)`` shows now: ``SURFACE_TABLE`` where the table is seen,
        ``SURFACE_CABINET`` the cabinets (the links the world colours like the table), 0 elsewhere."""
        spec, view = self._camera(camera)
        hidden = self._backdrop_active()  # the backdrop keeps the table out of the frame's render: draw it here
        if hidden:
            pb.changeVisualShape(self.desk, -1, rgbaColor=[1, 1, 1, 1], physicsClientId=self.client)
        try:
            seg = render_segmentation(self.client, spec, view, self.hardware_render)
        finally:
            if hidden:
                pb.changeVisualShape(self.desk, -1, rgbaColor=[0, 0, 0, 0], physicsClientId=self.client)
        labels = np.zeros(seg.shape, np.uint8)
        for name in SURFACE_LINKS:
            value = SURFACE_TABLE if name == "table" else SURFACE_CABINET
            labels[seg == segment_id(self.desk, self.desk_links[name])] = value
        return labels

    def _sensor_noise(self, rgb: np.ndarray) -> np.ndarray:
        """Per-pixel Gaussian noise of the world's ``image_noise_std`` (uint8 levels), if any."""
        std = self.world.image_noise_std
        if std <= 0:
            return rgb
        noisy = rgb.astype(np.float32) + self._pixel_rng.normal(0.0, std, rgb.shape).astype(np.float32)
        return np.clip(np.rint(noisy), 0, 255).astype(np.uint8)

    def _static_camera(self) -> tuple[CameraSpec, list[float]]:
        w = self.world
        spec = replace(self.config.static_camera, fov=self.config.static_camera.fov + w.camera_fov_offset)
        view = static_view(np.add(STATIC_EYE, w.camera_eye_offset), np.add(STATIC_TARGET, w.camera_target_offset))
        return spec, view

    def scene_state(self) -> dict:
        """Privileged structured state: object poses, fixture joints, light, EE and contacts."""
        c = self.client
        objects = {}
        for name, body in self.bodies.items():
            pos, quat = pb.getBasePositionAndOrientation(body, physicsClientId=c)
            objects[name] = {"pos": tuple(pos), "quat": tuple(quat), "yaw": yaw_from_quat(quat)}
        fixtures = {
            j: pb.getJointState(self.desk, self.desk_joints[j], physicsClientId=c)[0]
            for j in ("drawer", "slider", "button")
        }
        pos, yaw = self.arm.ee_pose()
        return {
            "objects": objects,
            "fixtures": fixtures,
            "light_on": self.light_on,
            "robot": {"ee_pos": tuple(pos.tolist()), "ee_yaw": yaw, "gripper_width": self.arm.gripper_width()},
            "contacts": contacts(c, self._entity_names, self.robot),
        }

    def scene_vector(self) -> np.ndarray:
        """``scene_state`` flattened; names in ``self.vector.fields``."""
        return self.vector.flatten(self.scene_state())

    # ---- exact save / restore --------------------------------------------------------------------
    def get_state(self) -> dict:
        """Everything needed to continue bit-identically: bodies, controllers, RNG, world."""
        if self._restored is not None:
            # Nothing has moved since set_state: pybullet re-normalizes base quaternions on
            # reset (a 1-ulp change that does not alter what follows, see tests), so the
            # state that was set is returned as it was given.
            return copy.deepcopy(self._restored)
        bodies = {"robot": self.robot, "desk": self.desk, **self.bodies}
        state = copy.deepcopy(
            {
                "bodies": {n: body_state(self.client, b) for n, b in bodies.items()},
                "controller": self.arm.controller_state(),
                "light_on": self.light_on,
                "button_latched": self._button_latched,
                "step_count": self.step_count,
                "pending": [a.copy() for a in self._pending],
                "rng": self.rng.bit_generator.state,
                "world": self.world.to_dict(),
            }
        )
        # pybullet's contact data (points, warm-start impulses, solver order) can be neither
        # read nor written, so a restored world only continues exactly like this one if this
        # one also continues from the restored state: re-seat it (~15 ms). The physics is
        # equivalent; only the bits of what follows change, deterministically.
        self.set_state(state)
        return copy.deepcopy(state)

    def set_state(self, state: dict) -> None:
        """Inverse of ``get_state``."""
        self._rebuild()
        self.light_on = bool(state["light_on"])
        self.apply_world(WorldParams.from_dict(state["world"]))
        bodies = {"robot": self.robot, "desk": self.desk, **self.bodies}
        for name, body in bodies.items():
            set_body_state(self.client, body, state["bodies"][name])
        for name, body in self.bodies.items():
            # A sleeping body has exactly zero velocity; put it back to sleep so it does not
            # wake up and jitter.
            if not np.any(state["bodies"][name]["base"][7:]):
                pb.changeDynamics(
                    body,
                    -1,
                    activationState=pb.ACTIVATION_STATE_ENABLE_SLEEPING | pb.ACTIVATION_STATE_SLEEP,
                    physicsClientId=self.client,
                )
        self.arm.set_controller_state(state["controller"])
        self._drive_fixtures()
        self._button_latched = bool(state["button_latched"])
        self.step_count = int(state["step_count"])
        self._pending = deque(np.asarray(a, dtype=np.float64).copy() for a in state["pending"])
        self.rng = np.random.default_rng()
        self.rng.bit_generator.state = copy.deepcopy(state["rng"])
        pb.performCollisionDetection(physicsClientId=self.client)  # contacts readable before the next step
        self._restored = copy.deepcopy(state)

    def close(self) -> None:
        if self.backdrop is not None:
            self.backdrop.close()
        if self.client is not None and pb.isConnected(self.client):
            pb.disconnect(self.client)
        self.client = None


def _footprint(spec: assets.ObjectSpec) -> float:
    """Radius of the circle that covers an object's base (m)."""
    if spec.size is not None:
        return float(np.hypot(spec.size[0], spec.size[1]) / 2)
    return spec.radius
