"""What the dashboard shows and how: the knobs of its trend, drift and bot pages."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from vibeforge.analytics.trends import BurstConfig


@dataclass(frozen=True, slots=True, kw_only=True)
class DashboardOptions:
    bursts: BurstConfig = field(default_factory=BurstConfig)  # trend detection per niche
    drift_window_s: float = 3600.0  # window of the language-shift charts, seconds
    embeddings: bool = True  # centroid drift with MiniLM; False: token divergence only
    embed_per_window: int = 32  # texts embedded per window and series (a seeded sample)
    drift_windows: int = 48  # newest windows shown on the language-shift charts
    recent_posts: int = 25  # posts shown on a bot's page
    smooth: int = 5  # posts in the moving mean of a bot's learning curve
    # age (s) -> weight combining a post's rewards read at several ages, as the loop does
    # (`vibeforge dashboard` passes the configured reward's); None: the ages weigh equally
    reward_age_weights: Mapping[float, float] | None = None

    def __post_init__(self) -> None:
        if self.drift_window_s <= 0:
            raise ValueError(f"drift_window_s ({self.drift_window_s}) must be > 0; use 3600")
        if self.embed_per_window < 1 or self.drift_windows < 1:
            raise ValueError("embed_per_window and drift_windows must be >= 1; use 32 and 48")
        if self.smooth < 1:
            raise ValueError(f"smooth ({self.smooth}) must be >= 1; use 5")
        if self.recent_posts < 1:
            raise ValueError(f"recent_posts ({self.recent_posts}) must be >= 1; use 25")
