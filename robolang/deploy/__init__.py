"""``robolang deploy``: a trained policy on any robot at a fixed rate, behind a safety layer.

``limits`` (the safety layer: pure functions), ``watchdog`` (stale data, slow inference),
``stop`` (space / Ctrl-C), ``timing`` (period, overruns, inference time, observation age),
``loop`` (one instruction at a fixed rate) and ``session`` (the command: policy, robot,
recording, videos).
"""
