"""Reusable test suites for robolang backends.

``robolang.testing.conformance.RobotConformanceSuite`` is the contract test every robot
(the simulated play table, every real-arm driver with a mocked motor bus) must pass. This
package needs ``pytest`` (a dev dependency); nothing outside the tests imports it.
"""

from robolang.testing.conformance import RobotConformanceSuite

__all__ = ["RobotConformanceSuite"]
