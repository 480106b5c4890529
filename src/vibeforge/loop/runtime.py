"""What a cycle runs against: store, platform, clock, models and privacy, created lazily.

The base model and the adapter bank are loaded on first use and shared by every bot of this
process (one resident base, many adapters). Reward models are cached per bot and reloaded when
a newer version appears on disk. The guard's fluency reference is cached per timeline and
recalibrated on the base model when the timeline has grown by half the posts it was built on.
The image sources the loop configuration names are checked when the runtime is built, and made
once per name on first use.
"""

from __future__ import annotations

import contextlib
import logging
import math
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import Engine

from vibeforge.analytics.images import ImageSource, image_source_names, make_image_source
from vibeforge.domain import AdapterVersion, Bot, Post
from vibeforge.errors import ConfigError
from vibeforge.learn.fluency import FluencyConfig
from vibeforge.loop.config import LoopConfig
from vibeforge.paths import Home
from vibeforge.platforms.base import Platform
from vibeforge.platforms.policy import DEFAULT_POLICY, PlatformPolicy
from vibeforge.privacy.patterns import postable
from vibeforge.store import queries as q
from vibeforge.store import session_scope

if TYPE_CHECKING:
    from vibeforge.config.retention import AdapterRetention
    from vibeforge.embedding import Embedder
    from vibeforge.learn.critic import HumanCritic
    from vibeforge.learn.fluency import FluencyReference
    from vibeforge.learn.reward import RewardSpec
    from vibeforge.learn.reward_model import RewardModel
    from vibeforge.learn.rl import PolicyTrainer
    from vibeforge.models.bank import AdapterBank
    from vibeforge.privacy.memorization import MemorizationIndex
    from vibeforge.privacy.pseudonym import Pseudonymizer
    from vibeforge.privacy.scrub import Scrubber

log = logging.getLogger(__name__)
STOP_FLAG = "stop"
# what an image source sees of a bot's niche: its last day of posts (platform time), at most
# this many; a burst needs the 6 one-hour windows before it as its baseline
NICHE_LOOKBACK = timedelta(days=1)
NICHE_POSTS = 5000


@dataclass(frozen=True, slots=True)
class _Calibration:
    reference: FluencyReference | None  # None: too few usable posts then
    posts: int  # the timeline's post count when it was made

    def stale(self, posts: int, config: FluencyConfig) -> bool:
        if self.reference is None:
            return posts != self.posts
        return posts - self.posts >= max(1, math.ceil(config.refresh_share * self.reference.size))


@dataclass(kw_only=True)
class Runtime:
    engine: Engine
    platform: Platform
    home: Path
    clock: Callable[[], datetime]  # platform time
    scrubber: Scrubber  # ingest's de-personalisation; raw posts never reach the store
    pseudonymize: Pseudonymizer  # author ids → keyed pseudonyms at ingest
    config: LoopConfig = field(default_factory=LoopConfig)
    bank_factory: Callable[[], AdapterBank] | None = None
    memorization: MemorizationIndex | None = None  # the guard's regurgitation index
    interrupt: threading.Event = field(default_factory=threading.Event)  # SIGTERM: stop soon
    retention: AdapterRetention | None = None  # prune a bot's old adapters after each save
    # the guard's fluency check against each timeline's human posts; None turns it off
    fluency_config: FluencyConfig | None = field(default_factory=FluencyConfig)
    # what the platform's rules ask of the bots (its registered policy), enforced by the loop
    policy: PlatformPolicy = DEFAULT_POLICY
    # compares posts by meaning (the near-duplicate guard, RL's critic); None: shared_embedder()
    embedder: Embedder | None = None
    _bank: AdapterBank | None = None
    _trainer: PolicyTrainer | None = None
    _critic: HumanCritic | None = None
    _reward_models: dict[str, RewardModel] = field(default_factory=dict)
    _fluency: dict[str, _Calibration] = field(default_factory=dict)
    _images: dict[str, ImageSource] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self._check_image_sources()

    def platform_for(self, bot: str) -> Platform:
        """The platform with calls charged to `bot` in the ledger (where it keeps one)."""
        for_bot = getattr(self.platform, "for_bot", None)
        return for_bot(bot) if callable(for_bot) else self.platform

    # ------------------------------------------------------------ lazily built parts

    def bank(self) -> AdapterBank:
        if self._bank is None:
            if self.bank_factory is None:
                raise RuntimeError("this runtime has no model: pass bank_factory")
            self._bank = self.bank_factory()
        return self._bank

    def trainer(self) -> PolicyTrainer:
        from vibeforge.learn.rl import GRPOConfig, PolicyTrainer

        if self._trainer is None:
            c = self.config
            self._trainer = PolicyTrainer(
                self.bank(),
                GRPOConfig(
                    group_size=c.rl_group_size,
                    max_new_tokens=c.max_new_tokens,
                    temperature=c.temperature,
                    learning_rate=c.rl_learning_rate,
                    kl_coef=c.rl_kl_coef,
                    kl_reference=c.rl_kl_reference,
                    seed=c.seed,
                ),
            )
        return self._trainer

    def critic(self) -> HumanCritic:
        """RL's human-likeness critic (learn.critic), one per runtime: it keeps each bot's
        newest samples in memory (a restart refills them within a few steps)."""
        from vibeforge.learn.critic import CriticConfig, HumanCritic

        if self._critic is None:
            self._critic = HumanCritic(
                self.text_embedder(), CriticConfig(weight=self.config.rl_humanlike)
            )
        return self._critic

    def reward_spec(self) -> RewardSpec:
        from vibeforge.learn.reward import get_reward

        return get_reward(self.config.reward)

    def reward_model_dir(self, bot: str) -> Path:
        return Home(self.home).reward_models(bot)

    def reward_model(self, bot: str) -> RewardModel | None:
        from vibeforge.learn.reward_model import RewardModel, latest_version

        latest = latest_version(self.reward_model_dir(bot))
        if latest is None:
            return None
        cached = self._reward_models.get(bot)
        if cached is None or cached.info.version != latest:
            cached = RewardModel.load(self.reward_model_dir(bot), version=latest)
            self._reward_models[bot] = cached
        return cached

    def fluency(self, timeline: str | None) -> FluencyReference | None:
        """The guard's fluency reference for a timeline's bots: the base model's scores of its
        newest human posts. None without a timeline, with fewer than `min_reference` usable
        posts, or with `fluency_config` None (the check is then skipped).

        Cached: a call costs one COUNT query until the timeline has grown by `refresh_share`
        of the posts the reference was built on; then it is recalibrated (one scoring pass
        over up to `reference_posts` posts).
        """
        from vibeforge.learn.fluency import FluencyReference, FluencyScorer

        config = self.fluency_config
        if timeline is None or config is None:
            return None
        with session_scope(self.engine) as s:
            posts = q.count_posts(s, timeline=timeline)
        cached = self._fluency.get(timeline)
        if cached is not None and not cached.stale(posts, config):
            return cached.reference
        texts = self.timeline_texts(timeline, limit=config.reference_posts)
        reference = None
        if len(texts) >= config.min_reference:
            scorer = FluencyScorer(
                self.bank().base, max_tokens=config.max_tokens, batch_size=config.batch_size
            )
            try:
                reference = FluencyReference.calibrate(scorer, texts, config=config)
            except ValueError as exc:  # too many one-token posts
                log.info("timeline %s: no fluency reference (%s)", timeline, exc)
        self._fluency[timeline] = _Calibration(reference, posts)
        return reference

    def text_embedder(self) -> Embedder:
        """The embedder that compares posts by meaning (the fleet's near-duplicate guard, RL's
        human-likeness critic)."""
        from vibeforge.embedding import shared_embedder

        if self.embedder is None:
            self.embedder = shared_embedder()
        return self.embedder

    # ------------------------------------------------------------ images

    def _check_image_sources(self) -> None:
        """Every source the configuration names is registered: a typo fails here, when the
        runtime is built, not at a bot's first post hours later."""
        known = image_source_names()
        named = [("loop.images", self.config.images)]
        named += [(f"loop.images_by_bot.{b}", n) for b, n in self.config.images_by_bot.items()]
        for where, name in named:
            if name not in known:
                raise ConfigError(
                    f"{where}: unknown image source {name!r}; use one of {', '.join(known)}"
                )

    def image_source(self, bot: Bot) -> ImageSource:
        """Where the pictures of `bot`'s posts come from: its `loop.images_by_bot` entry, else
        `loop.images` (one source per name, shared by the bots that name it)."""
        name = self.config.images_by_bot.get(bot.name, self.config.images)
        if name not in self._images:
            self._images[name] = make_image_source(name, posts_for=self.niche_posts)
        return self._images[name]

    def niche_posts(self, bot: Bot) -> list[Post]:
        """The bot's timeline over the last day of platform time, as the store keeps it
        (scrubbed, pseudonymous): what an image source such as the trend chart draws from."""
        if bot.timeline is None:
            return []
        since = self.clock() - NICHE_LOOKBACK
        with session_scope(self.engine) as s:
            return q.list_posts(s, timeline=bot.timeline, since=since, limit=NICHE_POSTS)

    def pii(self) -> Scrubber:
        """The guard's PII re-check: the ingest scrubber (its placeholders are not PII)."""
        return self.scrubber

    # ------------------------------------------------------------ operator switches

    def stopped(self) -> bool:
        if self.interrupt.is_set():
            return True
        with session_scope(self.engine) as s:
            return q.get_flag(s, name=STOP_FLAG) is not None

    def record_adapter(self, version: AdapterVersion) -> None:
        """Mirror an adapter version saved on disk into the store (idempotent)."""
        from vibeforge.errors import AlreadyExistsError

        with contextlib.suppress(AlreadyExistsError), session_scope(self.engine) as s:
            q.add_adapter_version(s, adapter=version)
        self.prune_adapters(version.bot)

    def prune_adapters(self, bot: str) -> None:
        """Adapter retention for `bot` after a save (`retention.adapters.prune_after_save`);
        a file that cannot be deleted is logged, and the round goes on."""
        if self.retention is None or not self.retention.prune_after_save:
            return
        from vibeforge.errors import VibeforgeError
        from vibeforge.loop.retention import prune_adapters
        from vibeforge.models.adapters import AdapterStore

        store = AdapterStore(Home(self.home).adapters)
        try:
            prune_adapters(
                store, engine=self.engine, home=self.home, policy=self.retention, bots=[bot]
            )
        except (VibeforgeError, OSError) as exc:
            log.warning("bot %s: pruning old adapter versions failed (%s)", bot, exc)

    def timeline_texts(self, timeline: str | None, *, limit: int) -> Sequence[str]:
        """The newest posts of a timeline as a bot's prompt shows them: no placeholders."""
        if timeline is None:
            return []
        with session_scope(self.engine) as s:
            texts = [postable(p.text) for p in q.list_posts(s, timeline=timeline, limit=limit)]
        return [t for t in texts if t]
