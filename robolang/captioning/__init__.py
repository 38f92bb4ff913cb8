"""Hindsight captioning: find what happened in recorded play and phrase it as instructions."""
