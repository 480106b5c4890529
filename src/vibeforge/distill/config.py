"""DistillConfig: every knob of clustering, composite datasets, elder training and retraining.

Read from the `distill:` section of vibeforge.yaml (`DistillConfig.from_mapping`); every field
is checked at construction with a message that says how to fix it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, fields, replace
from typing import Any

from vibeforge.errors import ConfigError

METHODS = ("lora", "full")
EMBEDDERS = ("minilm", "hashing")


@dataclass(frozen=True, slots=True, kw_only=True)
class DistillConfig:
    # clustering
    k: int | None = None  # number of subsets; None: merge while closer than distance_threshold
    distance_threshold: float = 0.35  # cosine distance (average linkage) below which bots merge
    recent_outputs: int = 64  # newest guard-passing outputs per bot that say where it stands
    min_outputs: int = 4  # bots with fewer outputs are left out of the plan
    # composite dataset
    per_bot: int = 64  # most examples taken from one bot
    min_per_bot: int = 4  # a bot with fewer usable outputs is left out of the dataset
    niche_filter: bool = True  # leave out outputs nearer another timeline's posts than their own
    niche_margin: float = 0.05  # ... or not nearer their own by at least this (cosine)
    dedup_jaccard: float = 0.6  # word-shingle Jaccard at or above this is a duplicate
    context_posts: int = 3  # niche timeline posts shown in the prompt of a context example
    context_share: float = 0.5  # share of examples whose prompt shows context (the rest: tag only)
    # the elder
    elder_base: str = "gemma3-270m"  # a packaged model, a folder, a .gguf or any HF id
    method: str = "lora"  # lora | full (full fine-tune of every weight)
    lora_rank: int = 16
    lr: float | None = None  # None: 1e-3 for LoRA (as a bot's vibe SFT), 2e-5 for a full fine-tune
    epochs: int = 2
    batch_size: int = 8
    max_steps: int | None = None  # cap on optimiser steps per training run
    max_tokens: int = 96  # longer examples are cut
    checkpoint_every: int = 10  # steps between resumable checkpoints
    # retraining
    drift_centroid: float = 0.08  # cosine distance the subset's output centroid may move
    drift_tokens: float = 0.3  # Jensen-Shannon divergence (bits) of its word distribution
    retrain_days: float | None = 7.0  # retrain on this schedule anyway (None: only on drift)
    embedder: str = "minilm"  # minilm (all-MiniLM-L6-v2, offline) | hashing (fast, tests)
    seed: int = 0

    def __post_init__(self) -> None:
        if self.embedder not in EMBEDDERS:
            raise ValueError(f"embedder ({self.embedder!r}) must be one of {', '.join(EMBEDDERS)}")
        if self.k is not None and self.k < 1:
            raise ValueError(f"k ({self.k}) must be >= 1, or null to use distance_threshold")
        if not 0 < self.distance_threshold <= 2:
            raise ValueError(
                f"distance_threshold ({self.distance_threshold}) must be within (0, 2] "
                "(cosine distance); 0.35 keeps one niche per subset"
            )
        if self.recent_outputs < 1 or self.min_outputs < 1:
            raise ValueError("recent_outputs and min_outputs must be >= 1 (e.g. 64 and 4)")
        if self.min_per_bot < 1 or self.per_bot < self.min_per_bot:
            raise ValueError(
                f"need 1 <= min_per_bot ({self.min_per_bot}) <= per_bot ({self.per_bot})"
            )
        if not 0 <= self.niche_margin < 1:
            raise ValueError(f"niche_margin ({self.niche_margin}) must be within [0, 1); try 0.05")
        if not 0 < self.dedup_jaccard <= 1:
            raise ValueError(f"dedup_jaccard ({self.dedup_jaccard}) must be within (0, 1]")
        if self.context_posts < 0 or not 0 <= self.context_share <= 1:
            raise ValueError(
                f"context_posts ({self.context_posts}) must be >= 0 and context_share "
                f"({self.context_share}) within [0, 1] (e.g. 3 and 0.5)"
            )
        if self.method not in METHODS:
            raise ValueError(f"method ({self.method!r}) must be one of {', '.join(METHODS)}")
        if not 1 <= self.lora_rank <= 256:
            raise ValueError(f"lora_rank ({self.lora_rank}) must be within 1..256; try 16")
        if self.lr is not None and not 0 < self.lr < 1:
            raise ValueError(f"lr ({self.lr}) must be within (0, 1); 1e-3 suits LoRA")
        if self.epochs < 1 or self.batch_size < 1:
            raise ValueError("epochs and batch_size must be >= 1 (e.g. epochs=2, batch_size=8)")
        if self.max_steps is not None and self.max_steps < 1:
            raise ValueError(f"max_steps ({self.max_steps}) must be >= 1 or null")
        if self.max_tokens < 8:
            raise ValueError(f"max_tokens ({self.max_tokens}) must be >= 8; a post is ~70")
        if self.checkpoint_every < 1:
            raise ValueError(f"checkpoint_every ({self.checkpoint_every}) must be >= 1")
        if self.drift_centroid <= 0 or self.drift_tokens <= 0:
            raise ValueError("drift_centroid and drift_tokens must be > 0 (e.g. 0.08 and 0.3)")
        if self.retrain_days is not None and self.retrain_days <= 0:
            raise ValueError(f"retrain_days ({self.retrain_days}) must be > 0, or null")

    @property
    def learning_rate(self) -> float:
        if self.lr is not None:
            return self.lr
        return 1e-3 if self.method == "lora" else 2e-5

    def clustering(self) -> str:
        """How subsets are cut, in words (for the plan)."""
        if self.k is not None:
            return f"k={self.k} subsets (average-linkage on cosine distance)"
        return f"merge while cosine distance <= {self.distance_threshold:g} (average linkage)"

    def with_overrides(self, **overrides: Any) -> DistillConfig:
        """A copy with the non-None overrides applied (CLI flags)."""
        return replace(self, **{k: v for k, v in overrides.items() if v is not None})

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any] | None) -> DistillConfig:
        """From vibeforge.yaml's `distill:` section; raises ConfigError naming the field."""
        data = dict(data or {})
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ConfigError(
                f"distill: unknown settings {unknown}; known: {', '.join(sorted(known))}"
            )
        try:
            return cls(**data)
        except (TypeError, ValueError) as exc:
            raise ConfigError(f"distill: {exc}") from None
