"""The language-conditioned policy: sentence encoder, transformer policy, data pipeline, training.

Nothing here imports ``sim`` (DESIGN.md layout rule): the policy only sees observations,
instructions and the dataset on disk.
"""
