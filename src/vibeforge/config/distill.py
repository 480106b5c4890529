"""DistillConfig: every knob of clustering, composite datasets, elder training and retraining.

vibeforge.yaml's `distill:` section. It lives on the ground floor, beside `Settings`, so a bad
value fails when settings load (naming the field and the fix); the distill package imports it
from here. Built directly it checks itself the same way (pydantic's `ValidationError`, a
`ValueError`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import fields, replace
from typing import Any, Literal

from pydantic import ConfigDict, Field, ValidationError, model_validator
from pydantic.dataclasses import dataclass

from vibeforge.config.validation import format_validation
from vibeforge.errors import ConfigError

METHODS = ("lora", "full")
EMBEDDERS = ("minilm", "hashing")


@dataclass(frozen=True, slots=True, kw_only=True, config=ConfigDict(extra="forbid"))
class DistillConfig:
    # clustering
    k: int | None = Field(default=None, ge=1)  # subsets; None: merge while < distance_threshold
    distance_threshold: float = Field(default=0.35, gt=0, le=2)  # cosine distance (avg linkage)
    recent_outputs: int = Field(default=64, ge=1)  # newest guard-passing outputs per bot
    min_outputs: int = Field(default=4, ge=1)  # bots with fewer outputs are left out of the plan
    # composite dataset
    per_bot: int = 64  # most examples taken from one bot (>= min_per_bot)
    min_per_bot: int = Field(default=4, ge=1)  # a bot with fewer usable outputs is left out
    niche_filter: bool = True  # leave out outputs nearer another timeline's posts than their own
    niche_margin: float = Field(default=0.05, ge=0, lt=1)  # ... or not nearer by this (cosine)
    dedup_jaccard: float = Field(default=0.6, gt=0, le=1)  # word-shingle Jaccard: a duplicate
    context_posts: int = Field(default=3, ge=0)  # niche timeline posts shown in a context prompt
    context_share: float = Field(default=0.5, ge=0, le=1)  # share of examples showing context
    # the elder
    elder_base: str = "gemma3-270m"  # a packaged model, a folder, a .gguf or any HF id
    method: Literal["lora", "full"] = "lora"  # full: a full fine-tune of every weight
    lora_rank: int = Field(default=16, ge=1, le=256)
    lr: float | None = Field(default=None, gt=0, lt=1)  # None: 1e-3 for LoRA, 2e-5 for full
    epochs: int = Field(default=2, ge=1)
    batch_size: int = Field(default=8, ge=1)
    max_steps: int | None = Field(default=None, ge=1)  # cap on optimiser steps per training run
    max_tokens: int = Field(default=96, ge=8)  # longer examples are cut (a post is ~70)
    checkpoint_every: int = Field(default=10, ge=1)  # steps between resumable checkpoints
    # retraining
    drift_centroid: float = Field(default=0.08, gt=0)  # cosine distance the centroid may move
    drift_tokens: float = Field(default=0.3, gt=0)  # Jensen-Shannon divergence (bits) of words
    retrain_days: float | None = Field(default=7.0, gt=0)  # retrain anyway (None: on drift only)
    embedder: Literal["minilm", "hashing"] = "minilm"  # minilm (offline) | hashing (fast, tests)
    seed: int = 0

    @model_validator(mode="after")
    def _per_bot(self) -> DistillConfig:
        if self.per_bot < self.min_per_bot:
            raise ValueError(
                f"per_bot ({self.per_bot}) must be >= min_per_bot ({self.min_per_bot}); "
                "e.g. per_bot: 64 and min_per_bot: 4"
            )
        return self

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
        """A copy with the non-None overrides applied (CLI flags); checked as settings are."""
        try:
            return replace(self, **{k: v for k, v in overrides.items() if v is not None})
        except ValidationError as exc:
            raise ConfigError(
                format_validation(exc, root=DistillConfig, prefix="distill")
            ) from None

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any] | None) -> DistillConfig:
        """From a `distill:` mapping; raises ConfigError naming the field and the fix."""
        data = dict(data or {})
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ConfigError(
                f"distill: unknown settings {unknown}; known: {', '.join(sorted(known))}"
            )
        try:
            return cls(**data)
        except ValidationError as exc:
            raise ConfigError(format_validation(exc, root=cls, prefix="distill")) from None
