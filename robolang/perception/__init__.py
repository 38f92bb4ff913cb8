"""Perception: the state estimator, cameras (+ proprioception) -> the scene state the privileged policy reads.

Trained on frames rendered in the simulator with its recorded scene state as labels
(``frames``), it predicts every object's position in the robot base frame (and its yaw where the
shape has one), the fixtures' joint positions and the light (``estimator``). Its checkpoint loads
alone and refuses a robot whose cameras differ (``checkpoint``); ``evaluate`` measures it per
object, world and camera set. The simulator is reached only through hydra (``entry``): nothing
here imports ``sim``.
"""
