"""Tiny URDF writer for the fixtures and objects we model ourselves.

Geometry is boxes and cylinders only: they render with a handful of triangles under
TinyRenderer and give exact, cheap collisions.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class Part:
    """One primitive of a link: a box (``size``) or a cylinder (``radius``, ``length``)."""

    xyz: tuple[float, float, float]
    size: tuple[float, float, float] | None = None
    radius: float = 0.0
    length: float = 0.0
    rgba: tuple[float, float, float, float] = (0.7, 0.7, 0.7, 1.0)
    collide: bool = True

    def geometry(self) -> str:
        if self.size is not None:
            return '<box size="{:.4f} {:.4f} {:.4f}"/>'.format(*self.size)
        return f'<cylinder radius="{self.radius:.4f}" length="{self.length:.4f}"/>'


@dataclass
class Link:
    name: str
    parts: list[Part] = field(default_factory=list)
    mass: float = 0.0
    inertia: float = 1e-3


@dataclass
class Joint:
    name: str
    parent: str
    child: str
    kind: str = "fixed"  # fixed | prismatic | revolute
    xyz: tuple[float, float, float] = (0.0, 0.0, 0.0)
    axis: tuple[float, float, float] = (1.0, 0.0, 0.0)
    lower: float = 0.0
    upper: float = 0.0
    damping: float = 0.0
    friction: float = 0.0


def _origin(xyz) -> str:
    return '<origin xyz="{:.4f} {:.4f} {:.4f}" rpy="0 0 0"/>'.format(*xyz)


def _link_xml(link: Link) -> str:
    out = [f'  <link name="{link.name}">']
    i = link.inertia
    out.append(
        f'    <inertial>{_origin((0, 0, 0))}<mass value="{link.mass:.4f}"/>'
        f'<inertia ixx="{i}" ixy="0" ixz="0" iyy="{i}" iyz="0" izz="{i}"/></inertial>'
    )
    for k, p in enumerate(link.parts):
        colour = "{:.3f} {:.3f} {:.3f} {:.3f}".format(*p.rgba)
        out.append(
            f"    <visual>{_origin(p.xyz)}<geometry>{p.geometry()}</geometry>"
            f'<material name="m_{link.name}_{k}"><color rgba="{colour}"/></material></visual>'
        )
        if p.collide:
            out.append(f"    <collision>{_origin(p.xyz)}<geometry>{p.geometry()}</geometry></collision>")
    out.append("  </link>")
    return "\n".join(out)


def _joint_xml(j: Joint) -> str:
    body = [
        f'  <joint name="{j.name}" type="{j.kind}">',
        f'    <parent link="{j.parent}"/><child link="{j.child}"/>{_origin(j.xyz)}',
    ]
    if j.kind != "fixed":
        body.append('    <axis xyz="{:.1f} {:.1f} {:.1f}"/>'.format(*j.axis))
        body.append(f'    <limit lower="{j.lower}" upper="{j.upper}" effort="100" velocity="1"/>')
        body.append(f'    <dynamics damping="{j.damping}" friction="{j.friction}"/>')
    body.append("  </joint>")
    return "\n".join(body)


def urdf(name: str, links: list[Link], joints: list[Joint]) -> str:
    """A URDF document for a tree of links (the first link is the root)."""
    parts = [f'<?xml version="1.0"?>\n<robot name="{name}">']
    parts += [_link_xml(link) for link in links]
    parts += [_joint_xml(j) for j in joints]
    parts.append("</robot>\n")
    return "\n".join(parts)
