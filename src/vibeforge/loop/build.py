"""Build a Runtime from parts: the embedded sandbox (demo, tests) or settings (vibeforge run).

Secrets (the pseudonymisation key, API tokens) come from settings; a key is generated once into
`$VIBEFORGE_HOME/secrets.yaml` (mode 0600) when none is configured, never into the database.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import Any

import yaml

from vibeforge.atomic import atomic_write_text
from vibeforge.loop.config import LoopConfig
from vibeforge.loop.runtime import Runtime
from vibeforge.paths import Home
from vibeforge.platforms.auth import BearerAuth
from vibeforge.platforms.x import XClient
from vibeforge.store import queries as q
from vibeforge.store import session_scope


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


def make_bank(*, model: str, home: Path, capacity: int = 64) -> Any:
    """Load the base model and an adapter bank under `home/adapters`."""
    from vibeforge.models.adapters import AdapterStore
    from vibeforge.models.bank import AdapterBank, BankConfig
    from vibeforge.models.registry import load_model

    base = load_model(model, home=home)
    return AdapterBank(base, AdapterStore(Home(home).adapters), BankConfig(capacity=capacity))


def stored_ledger(engine: Any, config: LoopConfig) -> Any:
    """A call ledger that writes every call to the store and starts from today's spending,
    so budgets hold across restarts and the dashboard shows what was spent."""
    from vibeforge.platforms.ledger import Budgets, CallLedger

    with session_scope(engine) as s:
        today = q.list_api_calls(s, day=datetime.now(UTC).date())

    def persist(call: Any) -> None:
        with session_scope(engine) as s:
            q.record_api_call(s, call=call)

    budgets = Budgets(per_bot_usd=config.budget_per_bot_usd, total_usd=config.budget_total_usd)
    return CallLedger(budgets=budgets, initial=today, on_record=persist)


class SandboxClock:
    """Platform time read from the sandbox's admin route (picklable, so Ray workers use it)."""

    def __init__(self, base_url: str, admin_token: str) -> None:
        self.base_url = base_url
        self.admin_token = admin_token

    def __call__(self) -> datetime:
        import httpx

        from vibeforge.platforms.base import PlatformUnavailable

        try:
            r = httpx.get(
                f"{self.base_url}/admin/world",
                headers={"Authorization": f"Bearer {self.admin_token}"},
                timeout=10,
            )
            r.raise_for_status()
        except httpx.HTTPError as exc:
            raise PlatformUnavailable(
                f"sandbox clock unreachable at {self.base_url}: {type(exc).__name__}: {exc}"
            ) from exc
        return datetime.fromisoformat(r.json()["now"].replace("Z", "+00:00"))


@dataclass(frozen=True, kw_only=True)
class SandboxRuntimeSpec:
    """Everything needed to build a Runtime against a sandbox server, in any process."""

    db_url: str
    home: Path
    base_url: str
    app_token: str = field(repr=False)
    admin_token: str = field(repr=False)
    user_tokens: dict[str, str] = field(default_factory=dict, repr=False)
    config: LoopConfig = field(default_factory=LoopConfig)
    model: str = "smollm2-135m"
    ner: bool = True
    key: str | None = field(default=None, repr=False)

    @classmethod
    def for_sandbox(cls, sandbox: Any, *, db_url: str, home: Path, **kw: Any) -> SandboxRuntimeSpec:
        from vibeforge.store import make_engine

        with session_scope(make_engine(db_url)) as s:
            bots = q.list_bots(s)
        handles = [b.account for b in bots if b.account]
        kw.setdefault("model", shared_base_model([b.base_model for b in bots]))
        return cls(
            db_url=db_url,
            home=home,
            base_url=sandbox.base_url,
            app_token=sandbox.app_token,
            admin_token=sandbox.admin_token,
            user_tokens={h: sandbox.user_token(h) for h in handles},
            **kw,
        )

    def __call__(self) -> Runtime:
        from vibeforge.privacy.memorization import MemorizationIndex
        from vibeforge.privacy.pseudonym import pseudonymizer
        from vibeforge.privacy.scrub import Scrubber, ScrubConfig
        from vibeforge.store import make_engine

        clock = SandboxClock(self.base_url, self.admin_token)
        engine = make_engine(self.db_url)
        client = XClient(
            ledger=stored_ledger(engine, self.config),
            base_url=self.base_url,
            auth=BearerAuth(self.app_token),
            user_auth={h: BearerAuth(t) for h, t in self.user_tokens.items()},
            clock=clock,
        )
        return Runtime(
            engine=engine,
            platform=client,
            home=self.home,
            clock=clock,
            config=self.config,
            bank_factory=partial(make_bank, model=self.model, home=self.home),
            scrubber=Scrubber(ScrubConfig(ner=self.ner)),
            pseudonymize=pseudonymizer(pseudonym_key(self.home, self.key)),
            memorization=MemorizationIndex.open(Home(self.home).memorization),
        )


@dataclass(frozen=True, kw_only=True)
class XRuntimeSpec:
    """A Runtime against the real X API: bearer for reads, stored user tokens for posting."""

    db_url: str
    home: Path
    base_url: str
    bearer: str = field(repr=False)
    client_id: str | None = field(default=None, repr=False)
    client_secret: str | None = field(default=None, repr=False)
    config: LoopConfig = field(default_factory=LoopConfig)
    model: str = "smollm2-135m"
    key: str | None = field(default=None, repr=False)

    def __call__(self) -> Runtime:
        from vibeforge.platforms.auth import OAuth2UserAuth, TokenFile
        from vibeforge.privacy.memorization import MemorizationIndex
        from vibeforge.privacy.pseudonym import pseudonymizer
        from vibeforge.privacy.scrub import Scrubber
        from vibeforge.store import make_engine

        engine = make_engine(self.db_url)
        with session_scope(engine) as s:
            handles = [b.account for b in q.list_bots(s) if b.account]
        user_auth: dict[str, Any] = {}
        for handle in handles:
            tokens = TokenFile(Home(self.home).token_file("x", handle))
            if tokens.path.exists() and self.client_id:
                user_auth[handle] = OAuth2UserAuth(
                    token=tokens.load(),
                    client_id=self.client_id,
                    client_secret=self.client_secret,
                    token_url=f"{self.base_url}/2/oauth2/token",
                    on_refresh=tokens.save,
                )
        client = XClient(
            base_url=self.base_url,
            auth=BearerAuth(self.bearer),
            user_auth=user_auth,
            ledger=stored_ledger(engine, self.config),
        )
        return Runtime(
            engine=engine,
            platform=client,
            home=self.home,
            clock=lambda: datetime.now(UTC),
            config=self.config,
            bank_factory=partial(make_bank, model=self.model, home=self.home),
            scrubber=Scrubber(),
            pseudonymize=pseudonymizer(pseudonym_key(self.home, self.key)),
            memorization=MemorizationIndex.open(Home(self.home).memorization),
        )
