"""robolang: language-conditioned robot manipulation from play.

The core package: the robot contract, safety, health checks and the command line. It never
imports the simulator (``sim``) or real-arm drivers (``hardware``); it reaches them only
through configuration (hydra ``_target_``).
"""

__version__ = "0.1.0"
