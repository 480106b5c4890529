"""How often each step of a bot's cycle runs, and how it acts: vibeforge.yaml's `loop:` section.

It lives on the ground floor, beside `Settings`, so a bad value fails when settings load (naming
the field and the fix); the loop imports it from here. Built directly (tests, the demo), it
checks itself the same way: a bad value raises pydantic's `ValidationError`, a `ValueError`.
"""

from __future__ import annotations

import re
from dataclasses import fields
from typing import Any, Literal

from pydantic import ConfigDict, Field, field_validator
from pydantic.dataclasses import dataclass


@dataclass(frozen=True, slots=True, kw_only=True, config=ConfigDict(extra="forbid"))
class LoopConfig:
    reward: str = "x-2026"  # reward preset name or a .yaml weights file
    candidates: int = Field(default=4, ge=1)  # K posts generated per publication; the RM picks one
    max_new_tokens: int = 48
    temperature: float = Field(default=0.9, gt=0)  # > 0: candidates are sampled
    sft_min_new_posts: int = Field(default=24, ge=1)  # new timeline posts needed before SFT
    sft_max_steps: int = 12  # cap on SFT steps per round (keeps a cycle short on a CPU)
    rm_min_new_labels: int = Field(default=20, ge=1)  # new labels before refitting the RM
    rm_heads: int = Field(default=8, ge=1, le=64)  # bootstrap heads of the RM (1: one ridge)
    rm_pessimism: float = Field(default=1.0, ge=0)  # λ: the RM rewards mean − λ·std of its heads
    rm_min_spearman: float = Field(default=0.1, ge=0, lt=1)  # RL waits while the RM agrees less
    rm_monitor_min_posts: int = Field(default=8, ge=3)  # own posts before realised agreement counts
    # how sure the agreement monitor must be before it pauses RL: it pauses when the one-sided
    # upper confidence bound (Fisher z, standard error 1/sqrt(n-3)) of the realised Spearman is
    # below the floor; 0: when the point estimate is (8 posts leave that estimate ±0.4 wide)
    rm_monitor_confidence: float = Field(default=0.0, ge=0, lt=1)
    # share of the bot's own posts (chosen by a hash of the post id, so the same ones every
    # time) the reward model never trains on: the agreement monitor judges every version on
    # them (otherwise each refit trains on every labelled post and leaves none to judge by)
    rm_monitor_holdout: float = Field(default=0.25, ge=0, lt=1)
    # pseudo-impressions of the niche's mean rate added to each label (zero engagement seen by
    # 10,000 is worse news than zero seen by 10); 0 turns the smoothing off
    rm_prior_reach: float = Field(default=200.0, ge=0)
    # timeline posts re-read per timeline and round at the reward's ages (1 h, 6 h, 24 h), so
    # their labels mean what a bot's own reward means; 0: off (on X each read is priced)
    relabel_posts: int = Field(default=100, ge=0)
    rl_steps: int = Field(default=1, ge=0)  # GRPO steps per cycle once an RM exists (0: no RL)
    # when a bot's RL steps run: "post" in the rounds it is due to post (right before the post
    # they are for, as often as it posts however often rounds run: a round touches only due
    # bots), "round" in every round
    rl_cadence: Literal["post", "round"] = "post"
    rl_group_size: int = Field(default=4, ge=2)  # G: GRPO needs a group to compare within
    rl_learning_rate: float = Field(default=1e-4, gt=0, lt=1)  # AdamW step of the LoRA updates
    rl_kl_coef: float = Field(default=0.04, ge=0)  # β of the KL to the reference policy
    # the reference RL stays close to: "sft" the bot's own SFT/spawn adapter (reads like its
    # niche), "base" the untuned base model
    rl_kl_reference: Literal["sft", "base"] = "sft"
    # λ of the human-likeness critic (learn.critic): reward per log-odd of reading like the
    # niche's humans, in units of the group's reward spread; 0 turns it off
    rl_humanlike: float = Field(default=0.2, ge=0)
    # the adapter bank (models.bank): adapters kept resident (the rest are paged in from disk
    # when their bot is due; also the most bots one RL batch trains), the precision adapters are
    # stored and kept resident in (training is float32), and rows per generation batch
    adapters_resident: int = Field(default=64, ge=1)
    adapter_precision: Literal["float16", "bfloat16", "float32"] = "float16"
    batch_rows: int = Field(default=64, ge=1)
    # the base model's precision for generation (models.precision): "auto" is bfloat16 where the
    # CPU multiplies it natively (AMX / AVX512-BF16), float32 elsewhere; learning is float32
    sampling_precision: Literal["auto", "float32", "bfloat16"] = "auto"
    off_policy_min: int = 4  # published posts with real rewards needed for an off-policy update
    context_posts: int = 3  # recent timeline posts shown in the prompt
    jitter: float = Field(default=0.2, ge=0, lt=1)  # ± share of the posting interval (no lockstep)
    approval: bool = False  # queue chosen posts for a person instead of publishing
    # train on the followed timelines' posts (SFT, the reward model's timeline labels); None:
    # the platform's policy decides (off on X, whose terms forbid training on X content; on
    # for the sandbox and Bluesky). The bots' own posts' engagement is learnt from either way
    learn_from_timeline: bool | None = None
    # the fleet-wide near-duplicate guard: no post whose embedding cosine with anything a bot
    # of the fleet posted in the last `fleet_duplicate_days` exceeds this; None: the platform
    # policy's (0.9, 7 days)
    fleet_duplicate_cosine: float | None = Field(default=None, gt=0, le=1)
    fleet_duplicate_days: float | None = Field(default=None, gt=0)
    dry_run: bool = False  # everything but the platform call
    global_posts_per_day: float | None = Field(default=None, gt=0)  # cap across all bots
    budget_per_bot_usd: float | None = Field(default=None, ge=0)  # daily API spend per bot
    budget_total_usd: float | None = Field(default=None, ge=0)  # daily API spend of all bots
    seed: int = 0
    # compliance (loop.compliance): stored posts younger than the horizon are re-checked against
    # the platform at most once per interval of platform time, and those deleted or withheld
    # there are removed; X wants them gone within 24 h, so the interval is at most that
    compliance_interval_s: float = Field(default=12 * 3600.0, gt=0, le=24 * 3600.0)
    compliance_horizon_days: float = Field(default=30.0, gt=0)  # older posts are not re-checked
    # a check that finds more than this share of at least 20 posts gone removes nothing and
    # says so (a wrong id mapping must not empty the store); 1.0 turns this off
    compliance_max_removed_share: float = Field(default=0.5, gt=0, le=1)
    # the picture attached to each post a bot publishes, by a source's registered name
    # (analytics.images; checked when the runtime is built): "none", or "trend-chart" (a chart
    # of its niche's strongest bursting term); `images_by_bot` maps a bot's name to the source
    # it uses instead of this fleet default
    images: str = "none"
    images_by_bot: dict[str, str] = Field(default_factory=dict)

    @field_validator("images")
    @classmethod
    def _image_source(cls, v: str) -> str:
        return _source_name(v)

    def __reduce__(self) -> tuple[Any, tuple[dict[str, Any]]]:
        """Pickled by field name. A slotted dataclass pickles its values in slot order, so a
        process on a version of this class with a field added or removed (a Ray worker or a
        chaos child on other code) silently shifted every later field into its neighbour's
        place; by name, a field the other side lacks takes its default here, and one this side
        lacks is an error that says so."""
        return (_rebuild, ({f.name: getattr(self, f.name) for f in fields(self)},))

    @field_validator("images_by_bot")
    @classmethod
    def _image_sources(cls, v: dict[str, str]) -> dict[str, str]:
        for bot, source in v.items():
            if not _NAME.match(bot):
                raise ValueError(f"{bot!r} is not a bot name (lowercase letters, digits, - or _)")
            _source_name(source)
        return v


def _rebuild(values: dict[str, Any]) -> LoopConfig:
    """A pickled LoopConfig, by field name (see `LoopConfig.__reduce__`)."""
    unknown = sorted(set(values) - {f.name for f in fields(LoopConfig)})
    if unknown:
        raise TypeError(
            f"a LoopConfig pickled by another vibeforge version has fields this version lacks: "
            f"{', '.join(unknown)}; run one vibeforge version on every node"
        )
    return LoopConfig(**values)


_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]{0,62}$")


def _source_name(v: str) -> str:
    if not _NAME.match(v):
        raise ValueError(
            f"image source {v!r}: a source is named in lowercase letters, digits, - or _, "
            "like 'none' or 'trend-chart'"
        )
    return v
