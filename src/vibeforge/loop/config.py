"""The loop's settings: `LoopConfig` lives in `vibeforge.config.loop`, on the ground floor, so
`load_settings` validates vibeforge.yaml's `loop:` section; the loop imports it from here."""

from __future__ import annotations

from vibeforge.config.loop import LoopConfig

__all__ = ["LoopConfig"]
