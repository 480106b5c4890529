"""Distillation's settings: `DistillConfig` lives in `vibeforge.config.distill`, on the ground
floor, so `load_settings` validates vibeforge.yaml's `distill:` section; distill imports it here."""

from __future__ import annotations

from vibeforge.config.distill import EMBEDDERS, METHODS, DistillConfig

__all__ = ["EMBEDDERS", "METHODS", "DistillConfig"]
