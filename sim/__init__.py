"""sim: the PyBullet play table behind the robolang robot contract.

Importing ``sim`` registers the gymnasium environment ``robolang/PlayTable-v0``.
"""
