"""Build a Runtime from parts: the platform by its registered kind (`platform.kind`), the store,
the model and privacy; from a running sandbox (demo, tests) or from settings (vibeforge run).

Secrets (the pseudonymisation key, API tokens) come from settings; a key is generated once into
`$VIBEFORGE_HOME/secrets.yaml` (mode 0600) when none is configured, never into the database.
A configured key wins over that file. The database keeps only the key's fingerprint, so a run
under another key stops before its pseudonyms mix with the old ones.
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

import yaml
from sqlalchemy import Engine

from vibeforge.atomic import atomic_write_text
from vibeforge.loop import platform_kinds  # noqa: F401  (registers the platform kinds)
from vibeforge.loop.config import LoopConfig
from vibeforge.loop.runtime import Runtime
from vibeforge.paths import Home
from vibeforge.platforms.ledger import CallLedger
from vibeforge.platforms.registry import PlatformContext, platform_factory, platform_policy
from vibeforge.store import queries as q
from vibeforge.store import session_scope

if TYPE_CHECKING:
    from vibeforge.config import Settings
    from vibeforge.config.retention import AdapterRetention


class ServedSandbox(Protocol):
    """A sandbox the loop can use: served by this process (`sandbox.server.RunningSandbox`) or
    by another (`sandbox.remote.RemoteSandbox`, through its admin API)."""

    @property
    def base_url(self) -> str: ...
    @property
    def app_token(self) -> str: ...
    @property
    def admin_token(self) -> str: ...
    def user_token(self, handle: str) -> str: ...


def pseudonym_key(home: Path, configured: str | None = None) -> str:
    """The HMAC key for author pseudonyms: configured, else created once beside the data."""
    if configured:
        return configured
    path = Home(home).secrets_file
    data: dict[str, Any] = {}
    if path.exists():
        data = yaml.safe_load(path.read_text()) or {}
        if data.get("pseudonym_key"):
            return str(data["pseudonym_key"])
    data["pseudonym_key"] = secrets.token_hex(32)
    home.mkdir(parents=True, exist_ok=True)
    atomic_write_text(path, yaml.safe_dump(data), mode=0o600)
    return str(data["pseudonym_key"])


PSEUDONYM_KEY_FLAG = "pseudonym_key"  # the flag holding the key's fingerprint


def check_pseudonym_key(engine: Engine, key: str, *, accept: bool = False) -> str:
    """Record the key's fingerprint on first use; raise ConfigError when the database's
    pseudonyms were made with another key, unless `accept` (then the new one is recorded).
    Returns the fingerprint."""
    from vibeforge.errors import ConfigError
    from vibeforge.privacy.pseudonym import key_fingerprint

    fingerprint = key_fingerprint(key)
    with session_scope(engine) as s:
        recorded = (q.get_flag(s, name=PSEUDONYM_KEY_FLAG) or {}).get("fingerprint")
        if recorded == fingerprint:
            return fingerprint
        if recorded is not None and not accept:
            raise ConfigError(
                f"the pseudonym key (fingerprint {fingerprint}) is not the one this database's "
                f"authors were pseudonymised with ({recorded}): their pseudonyms would change and "
                "mix with the old ones. Restore that key (VIBEFORGE_PSEUDONYM_KEY or "
                "pseudonym_key in $VIBEFORGE_HOME/secrets.yaml), or start new pseudonyms on "
                "purpose with 'vibeforge db accept-pseudonym-key'"
            )
        q.set_flag(s, name=PSEUDONYM_KEY_FLAG, value={"fingerprint": fingerprint})
    return fingerprint


def settings_key(settings: Settings) -> str | None:
    """The configured pseudonym key (environment or secrets file), if any."""
    configured = settings.secrets.pseudonym_key
    return None if configured is None else configured.get_secret_value()


def shared_base_model(models: list[str], *, default: str = "smollm2-135m") -> str:
    """The base model a process serves: the bots' (one resident base per process)."""
    from collections import Counter

    if not models:
        return default
    counts = Counter(models)
    chosen = counts.most_common(1)[0][0]
    if len(counts) > 1:
        import logging

        logging.getLogger(__name__).warning(
            "bots use several base models %s; this process serves %s (run one process per base)",
            sorted(counts),
            chosen,
        )
    return chosen


def make_bank(*, model: str, home: Path, config: LoopConfig | None = None) -> Any:
    """Load the base model and an adapter bank under `home/adapters`, sized by `config`."""
    from vibeforge.models.adapters import AdapterStore
    from vibeforge.models.bank import AdapterBank, BankConfig
    from vibeforge.models.registry import load_model

    c = config or LoopConfig()
    base = load_model(model, home=home)
    bank_config = BankConfig(
        capacity=c.adapters_resident,
        precision=c.adapter_precision,
        max_batch_rows=c.batch_rows,
        sampling_precision=c.sampling_precision,
    )
    return AdapterBank(base, AdapterStore(Home(home).adapters), bank_config)


def stored_ledger(engine: Engine, config: LoopConfig) -> CallLedger:
    """A call ledger that writes every call to the store and starts from today's spending,
    so budgets hold across restarts and the dashboard shows what was spent."""
    from vibeforge.domain import ApiCall
    from vibeforge.platforms.ledger import Budgets

    with session_scope(engine) as s:
        today = q.list_api_calls(s, day=datetime.now(UTC).date())

    def persist(call: ApiCall) -> None:
        with session_scope(engine) as s:
            q.record_api_call(s, call=call)

    budgets = Budgets(per_bot_usd=config.budget_per_bot_usd, total_usd=config.budget_total_usd)
    return CallLedger(budgets=budgets, initial=today, on_record=persist)


def platform_context(settings: Settings, *, home: Path, handles: Sequence[str]) -> PlatformContext:
    """The context of the configured platform kind: its base URL and its secrets, the settings'
    secrets named `<kind>_...` (`x_bearer_token` reaches the x kind as "bearer_token")."""
    prefix = f"{settings.platform.kind}_"
    secrets = {
        name.removeprefix(prefix): value.get_secret_value()
        for name, value in settings.secrets
        if value is not None and name.startswith(prefix)
    }
    return PlatformContext(
        home=home, handles=tuple(handles), base_url=settings.platform.base_url, secrets=secrets
    )


def sandbox_context(
    sandbox: ServedSandbox, *, home: Path, handles: Sequence[str]
) -> PlatformContext:
    """The context of a running sandbox: its URL, its tokens, and a user token per account."""
    return PlatformContext(
        home=home,
        handles=tuple(handles),
        base_url=sandbox.base_url,
        secrets={"app_token": sandbox.app_token, "admin_token": sandbox.admin_token},
        user_tokens={h: sandbox.user_token(h) for h in handles},
    )


def _bots(db_url: str, names: Sequence[str] | None = None) -> tuple[list[str], str]:
    """The bots' account handles (only those of `names`, when given), and their base model."""
    from vibeforge.store import make_engine

    with session_scope(make_engine(db_url)) as s:
        bots = [b for b in q.list_bots(s) if names is None or b.name in names]
    return [b.account for b in bots if b.account], shared_base_model([b.base_model for b in bots])


SANDBOX_FACES = {"x": "sandbox", "bluesky": "sandbox_bluesky"}  # face -> registered kind


@dataclass(frozen=True, kw_only=True)
class RuntimeSpec:
    """Everything needed to build a Runtime, in any process: picklable, so the ray executor's
    workers each build their own from it. The platform is the registered `platform` kind,
    built from `context` with this process's ledger."""

    db_url: str
    home: Path
    platform: str  # a registered platform kind (vibeforge.platforms.registry)
    context: PlatformContext
    config: LoopConfig = field(default_factory=LoopConfig)
    model: str = "smollm2-135m"
    ner: bool = True
    key: str | None = field(default=None, repr=False)
    retention: AdapterRetention | None = None  # prune old adapter versions after each save

    @classmethod
    def for_sandbox(
        cls,
        sandbox: ServedSandbox,
        *,
        db_url: str,
        home: Path,
        face: str = "x",
        bots: Sequence[str] | None = None,
        **kw: Any,
    ) -> RuntimeSpec:
        """Against a running sandbox, with a user token for each bot account in the store (of
        `bots` only, when given: a runtime of a mixed fleet, see `fleet`); `face` "bluesky"
        talks to it through its XRPC face with the Bluesky client."""
        if face not in SANDBOX_FACES:
            raise ValueError(f"face {face!r} is not one of {sorted(SANDBOX_FACES)}")
        handles, model = _bots(db_url, bots)
        kw.setdefault("model", model)
        context = sandbox_context(sandbox, home=home, handles=handles)
        return cls(db_url=db_url, home=home, platform=SANDBOX_FACES[face], context=context, **kw)

    @classmethod
    def from_settings(
        cls,
        settings: Settings,
        *,
        home: Path,
        config: LoopConfig,
        sandbox: ServedSandbox | None = None,
        bots: Sequence[str] | None = None,
        model: str | None = None,
    ) -> RuntimeSpec:
        """Against the configured platform kind (`settings.platform`: `settings.on(name)` picks
        another); `sandbox`: the one this process serves; `bots`: only these bots' accounts
        (a runtime of a mixed fleet); `model`: the base model (None: the bots')."""
        key = settings_key(settings)
        if sandbox is not None:
            return cls.for_sandbox(
                sandbox,
                face=settings.platform.face,
                db_url=settings.db_url,
                home=home,
                bots=bots,
                config=config,
                key=key,
                retention=settings.retention.adapters,
                **({} if model is None else {"model": model}),
            )
        handles, bots_model = _bots(settings.db_url, bots)
        context = platform_context(settings, home=home, handles=handles)
        return cls(
            db_url=settings.db_url,
            home=home,
            platform=settings.platform.kind,
            context=context,
            config=config,
            model=model or bots_model,
            key=key,
            retention=settings.retention.adapters,
        )

    def __call__(self) -> Runtime:
        from vibeforge.privacy.memorization import MemorizationIndex
        from vibeforge.privacy.pseudonym import pseudonymizer
        from vibeforge.privacy.scrub import Scrubber, ScrubConfig
        from vibeforge.store import make_engine

        engine = make_engine(self.db_url)
        build = platform_factory(self.platform)  # an unknown kind fails before anything else
        key = pseudonym_key(self.home, self.key)
        check_pseudonym_key(engine, key)
        platform = build(replace(self.context, ledger=stored_ledger(engine, self.config)))
        return Runtime(
            engine=engine,
            platform=platform,
            home=self.home,
            clock=platform.now,
            config=self.config,
            retention=self.retention,
            bank_factory=partial(make_bank, model=self.model, home=self.home, config=self.config),
            scrubber=Scrubber(ScrubConfig(ner=self.ner)),
            pseudonymize=pseudonymizer(key),
            memorization=MemorizationIndex.open(Home(self.home).memorization),
            policy=platform_policy(self.platform),  # the platform's rules, enforced by the loop
        )


def fleet(specs: Sequence[RuntimeSpec]) -> list[Runtime]:
    """The runtimes of a fleet that mixes platforms: one per platform (each spec built for its
    bots, e.g. `for_sandbox(face=..., bots=...)`), on one store and home. They share the first
    runtime's adapter bank, so one base model is resident, and its regurgitation index, which
    takes one writer (two would each drop the segments the other wrote). Run each with its own
    bots: `run_round(runtime, names)`."""
    if not specs:
        raise ValueError("a fleet needs at least one runtime spec")
    first = specs[0]
    for spec in specs[1:]:
        if (spec.db_url, spec.home, spec.model) != (first.db_url, first.home, first.model):
            raise ValueError(
                "the runtimes of a fleet share one store, home and base model; "
                f"{spec.platform} has {spec.db_url} {spec.home} {spec.model}, "
                f"{first.platform} {first.db_url} {first.home} {first.model}"
            )
    runtimes = [first()]
    for spec in specs[1:]:
        rt = spec()
        rt.memorization = runtimes[0].memorization
        rt.bank_factory = runtimes[0].bank
        runtimes.append(rt)
    return runtimes


@dataclass(frozen=True)
class FleetSpec:
    """A fleet that mixes platforms, as `vibeforge run` builds it from settings: each
    platform's RuntimeSpec with the bots it runs. Calling it builds the runtimes (`fleet`: one
    bank, one regurgitation index), each paired with its bots."""

    parts: tuple[tuple[RuntimeSpec, tuple[str, ...]], ...]

    def __call__(self) -> list[tuple[Runtime, tuple[str, ...]]]:
        runtimes = fleet([spec for spec, _ in self.parts])
        return [(rt, bots) for rt, (_, bots) in zip(runtimes, self.parts, strict=True)]
