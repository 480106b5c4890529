"""How often each step of a bot's cycle runs, and how it acts. Validated at construction."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True, kw_only=True)
class LoopConfig:
    reward: str = "x-2026"  # reward preset name or a .yaml weights file
    candidates: int = 4  # K posts generated per publication; the reward model picks one
    max_new_tokens: int = 48
    temperature: float = 0.9
    sft_min_new_posts: int = 24  # new timeline posts needed before an SFT round
    sft_max_steps: int = 12  # cap on SFT steps per round (keeps a cycle short on a CPU)
    rm_min_new_labels: int = 20  # new labelled posts needed before refitting the reward model
    rl_steps: int = 1  # GRPO steps per cycle once a reward model exists (0 disables RL)
    rl_group_size: int = 4  # G
    rl_learning_rate: float = 1e-4  # AdamW step size of the GRPO/off-policy LoRA updates
    off_policy_min: int = 4  # published posts with real rewards needed for an off-policy update
    context_posts: int = 3  # recent timeline posts shown in the prompt
    jitter: float = 0.2  # ± fraction of the posting interval, so bots do not post in lockstep
    approval: bool = False  # queue chosen posts for a person instead of publishing
    dry_run: bool = False  # everything but the platform call
    global_posts_per_day: float | None = None  # cap across all bots (None: no cap)
    budget_per_bot_usd: float | None = None  # daily API spend per bot (None: unlimited)
    budget_total_usd: float | None = None  # daily API spend of all bots together
    seed: int = 0

    def __post_init__(self) -> None:
        if self.candidates < 1:
            raise ValueError(f"candidates ({self.candidates}) must be >= 1; 4 is a good default")
        if not 0 <= self.jitter < 1:
            raise ValueError(f"jitter ({self.jitter}) must be within [0, 1); 0.2 means ±20%")
        if self.rl_steps < 0 or self.rl_group_size < 2:
            raise ValueError("rl_steps must be >= 0 and rl_group_size >= 2 (GRPO needs a group)")
        if not 0 < self.rl_learning_rate < 1:
            raise ValueError(
                f"rl_learning_rate ({self.rl_learning_rate}) must be in (0, 1); try 1e-4"
            )
        if self.temperature <= 0:
            raise ValueError(f"temperature ({self.temperature}) must be > 0 to sample candidates")
        if self.sft_min_new_posts < 1 or self.rm_min_new_labels < 1:
            raise ValueError("sft_min_new_posts and rm_min_new_labels must be >= 1")
        for name in ("budget_per_bot_usd", "budget_total_usd"):
            value = getattr(self, name)
            if value is not None and value < 0:
                raise ValueError(f"{name} ({value}) must be >= 0 USD a day, or None (no cap)")
        if self.global_posts_per_day is not None and self.global_posts_per_day <= 0:
            raise ValueError("global_posts_per_day must be > 0, or None for no cap")
