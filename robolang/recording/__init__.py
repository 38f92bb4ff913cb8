"""Recording play into LeRobotDataset v3, crash-safely (see ``store.py``)."""
