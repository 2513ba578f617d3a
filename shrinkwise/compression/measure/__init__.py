"""Honest measurement: every number records where it came from (`host`, `device` or `estimate`)."""
