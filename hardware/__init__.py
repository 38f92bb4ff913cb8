"""hardware: real-arm drivers and cameras behind the robolang robot contract.

Drivers subclass ``robolang.robot.EEDeltaRobot`` and import their vendor SDKs lazily, so
``import hardware`` works on a laptop without them. The first drivers arrive with the
sim-to-real deployment issue; until then this package only reserves the layout.
"""
