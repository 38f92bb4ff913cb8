"""Shared test set-up: headless, offline, and caches kept inside pytest's temp folder."""

import os

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("SDL_VIDEODRIVER", "dummy")
