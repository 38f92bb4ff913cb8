"""The SO-101 arm as a URDF with simple geometry, generated from its published dimensions.

Regenerate the shipped file with ``python -m hardware.so101_urdf`` (writes ``hardware/so101.urdf``;
a test checks the two agree). The driver (``hardware.so101.SO101Robot``) uses that file unless
its config names another URDF.

**Source.** TheRobotStudio/SO-ARM100 (the arm's makers), ``Simulation/SO101/so101_new_calib.urdf``
(exported from the arm's Onshape CAD by onshape-to-robot; read at commit 0aee1d0f), and for the
table plane ``so101_new_calib.xml`` + ``scene.xml`` of the same folder (their MuJoCo model). Its
"new calibration" puts each joint's zero at the middle of the joint's range, which is exactly
what LeRobot's SO-101 calibration (``lerobot-calibrate``, read in degrees) calls 0 deg; LeRobot's own end-effector examples use that
file with the bus's degrees as joint angles, same signs. Every joint origin, axis and limit below
is copied from it (its ``1.5708`` / ``3.14159`` are right angles rounded by the exporter; exact
ones are used here). Only the meshes are replaced by boxes and cylinders, and two frames are
added (below); the masses are the published ones, placed at the link origins (kinematics ignores
them).

**The numbers** (m, rad; derived from the joint origins):

- shoulder-pan axis: 0.0624 above the table; shoulder-lift axis 0.1166 above the table and
  0.0304 in front of the pan axis; the arm's plane (lift, elbow, wrist flex) runs 0.0183 to the
  right of the pan axis, and the wrist-roll axis back on it;
- upper arm, lift axis to elbow axis: 0.1160 (0.11257 along the arm, 0.028 across);
- forearm, elbow axis to wrist-flex axis: 0.1350 (0.1349 along, 0.0052 across);
- wrist-flex axis to wrist-roll flange: 0.0611 (+0.0181 sideways), flange to the point between
  the jaw tips (the published ``gripperframe``): 0.0981 along the roll axis, 0.0079 off it;
- limits: pan +-1.91986 (110 deg), lift +-1.74533 (100 deg), elbow +-1.69, wrist flex
  +-1.65806 (95 deg), wrist roll +-2.79253 (160 deg), jaw -0.174533..1.74533.

**Frames added.** ``base_link`` (the root, robolang's robot base frame): on the shoulder-pan axis
at the table plane (the published ``baseframe``, which the makers' MuJoCo scene puts on the
floor), x forward when the pan is at 0 (the middle of its range), y to the robot's left, z up.
``gripper_frame_link`` (the end effector, named as LeRobot's kinematics expects): at the published
``gripperframe`` point, z along the approach (out of the jaws), y along the jaw opening, x = y x z;
so x stays horizontal when the wrist roll is at 0, whatever the pitch, and ``ee.yaw`` (the heading
of x, ``robolang.kinematics``) is defined there.
"""

from __future__ import annotations

import math
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

SHIPPED_URDF = Path(__file__).with_name("so101.urdf")
EE_LINK = "gripper_frame_link"
ARM_JOINTS = ("shoulder_pan", "shoulder_lift", "elbow_flex", "wrist_flex", "wrist_roll")
HALF_PI = math.pi / 2

# The table-plane point on the pan axis, in the published base frame: the pan joint's x, y and
# the published ``baseframe``'s z.
_BASE_LINK_IN_BASE = (0.0207909, -0.0230745, 0.0324817)
PAN_HEIGHT = 0.0948817 - _BASE_LINK_IN_BASE[2]  # m, the pan joint above the table


@dataclass(frozen=True)
class JointSpec:
    """One joint of the published model: origin in the parent link, revolute about its z."""

    name: str
    parent: str
    child: str
    xyz: tuple[float, float, float]
    rpy: tuple[float, float, float]
    lower: float = 0.0
    upper: float = 0.0
    fixed: bool = False


# One joint per line, as in the published URDF (hence no formatter here).
# fmt: off
JOINTS: tuple[JointSpec, ...] = (
    # base_link -> published base: the inverse of (translate to _BASE_LINK_IN_BASE, turn -90 deg about z).
    JointSpec("base_link_to_base", "base_link", "base",
              (_BASE_LINK_IN_BASE[1], -_BASE_LINK_IN_BASE[0], -_BASE_LINK_IN_BASE[2]), (0.0, 0.0, HALF_PI), fixed=True),
    JointSpec("shoulder_pan", "base", "shoulder", (0.0207909, -0.0230745, 0.0948817), (-math.pi, 0, HALF_PI), -1.91986, 1.91986),
    JointSpec("shoulder_lift", "shoulder", "upper_arm", (-0.0303992, -0.0182778, -0.0542), (-HALF_PI, -HALF_PI, 0), -1.74533, 1.74533),
    JointSpec("elbow_flex", "upper_arm", "lower_arm", (-0.11257, -0.028, 0.0), (0, 0, HALF_PI), -1.69, 1.69),
    JointSpec("wrist_flex", "lower_arm", "wrist", (-0.1349, 0.0052, 0.0), (0, 0, -HALF_PI), -1.65806, 1.65806),
    JointSpec("wrist_roll", "wrist", "gripper", (0.0, -0.0611, 0.0181), (HALF_PI, 0, math.pi), -2.79253, 2.79253),
    JointSpec("gripper", "gripper", "moving_jaw", (0.0202, 0.0188, -0.0234), (HALF_PI, 0, 0), -0.174533, 1.74533),
    # End effector: published gripperframe position; axes (x, y, z) = (gripper y, gripper x, -gripper z).
    JointSpec("gripper_frame", "gripper", EE_LINK, (-0.0079, -0.000218121, -0.0981274), (math.pi, 0, HALF_PI), fixed=True),
)
# fmt: on

# Published link masses (kg). The two added frames get a token mass (pybullet warns about links without one).
FRAME_MASS = 1e-3
MASSES = {
    "base": 0.147,
    "shoulder": 0.100006,
    "upper_arm": 0.103,
    "lower_arm": 0.104,
    "wrist": 0.079,
    "gripper": 0.087,
    "moving_jaw": 0.012,
}
LINK_RADIUS = 0.016  # m; an STS3215 servo is 45 x 24 x 35 mm, the printed links about as wide
BASE_RADIUS = 0.035  # m; the printed base around the pan servo
COLOURS = {"printed": "1.0 0.82 0.12 1", "servo": "0.1 0.1 0.1 1"}


def _fmt(values) -> str:
    return " ".join(f"{v:.7g}" for v in values)


def _segment(end: tuple[float, float, float], colour: str, radius: float = LINK_RADIUS) -> str:
    """A cylinder from the link origin to ``end`` (the next joint), as visual and collision."""
    length = math.dist((0, 0, 0), end)
    if length < 1e-6:
        return ""
    pitch = math.atan2(math.hypot(end[0], end[1]), end[2])
    yaw = math.atan2(end[1], end[0])
    origin = f'<origin xyz="{_fmt(v / 2 for v in end)}" rpy="0 {pitch:.7g} {yaw:.7g}"/>'
    geometry = f'<geometry><cylinder radius="{radius}" length="{length:.7g}"/></geometry>'
    material = f'<material name="{colour}"><color rgba="{COLOURS[colour]}"/></material>'
    return f"    <visual>{origin}{geometry}{material}</visual>\n    <collision>{origin}{geometry}</collision>\n"


def _link(name: str) -> str:
    mass = MASSES.get(name, FRAME_MASS)
    i = mass * LINK_RADIUS**2  # order of magnitude only
    inertial = (
        f'    <inertial><origin xyz="0 0 0" rpy="0 0 0"/><mass value="{mass}"/>'
        f'<inertia ixx="{i:.3g}" ixy="0" ixz="0" iyy="{i:.3g}" iyz="0" izz="{i:.3g}"/></inertial>\n'
    )
    if name == "base_link":  # the base: a pedestal up to the pan joint (the published base frame has none)
        geometry = _segment((0.0, 0.0, PAN_HEIGHT), "servo", BASE_RADIUS)
    elif name == "moving_jaw":  # the jaw's length, along the published jaw's own -y
        geometry = _segment((0.0, -0.07, 0.019), "printed")
    else:
        ends = [j.xyz for j in JOINTS if j.parent == name and name != "base"]
        geometry = "".join(_segment(e, "printed") for e in ends)
    return f'  <link name="{name}">\n{inertial}{geometry}  </link>\n'


def _joint(j: JointSpec) -> str:
    kind = "fixed" if j.fixed else "revolute"
    body = f'    <parent link="{j.parent}"/>\n    <child link="{j.child}"/>\n'
    body += f'    <origin xyz="{_fmt(j.xyz)}" rpy="{_fmt(j.rpy)}"/>\n'
    if not j.fixed:
        body += '    <axis xyz="0 0 1"/>\n'
        body += f'    <limit lower="{j.lower}" upper="{j.upper}" effort="3.35" velocity="6.0"/>\n'
    return f'  <joint name="{j.name}" type="{kind}">\n{body}  </joint>\n'


def generate_urdf() -> str:
    """The SO-101 URDF as text (deterministic: the same text every time)."""
    links = ["base_link", *(j.child for j in JOINTS)]
    head = '<?xml version="1.0"?>\n<!-- Generated by hardware/so101_urdf.py; do not edit by hand. -->\n'
    return head + '<robot name="so101">\n' + "".join(map(_link, links)) + "".join(map(_joint, JOINTS)) + "</robot>\n"


def default_urdf_path() -> Path:
    """The shipped ``so101.urdf``, or (an install without it) a freshly generated copy in the temp folder."""
    if SHIPPED_URDF.is_file():
        return SHIPPED_URDF
    path = Path(tempfile.gettempdir()) / "robolang_so101.urdf"
    path.write_text(generate_urdf())
    return path


def main(argv: list[str] | None = None) -> int:
    """``python -m hardware.so101_urdf [PATH]``: write the URDF (default: the shipped file)."""
    argv = sys.argv[1:] if argv is None else argv
    path = Path(argv[0]) if argv else SHIPPED_URDF
    path.write_text(generate_urdf())
    print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
