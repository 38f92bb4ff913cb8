"""The simulated play table passes the robot conformance suite every backend must pass."""

from robolang.testing import RobotConformanceSuite
from sim.robot import PlayTableRobot, PlayTableRobotConfig


class TestPlayTableConformance(RobotConformanceSuite):
    def make_robot(self) -> PlayTableRobot:
        # Small cameras keep each connect + render cheap. The wrist camera is not square so an
        # (H, W) swap anywhere would fail the shape checks.
        return PlayTableRobot(PlayTableRobotConfig(static_width=64, static_height=64, wrist_width=64, wrist_height=48))

    def commands_sent(self, robot: PlayTableRobot) -> int:
        # Every action that reaches the simulator advances its control-step counter.
        return robot.scene.step_count
