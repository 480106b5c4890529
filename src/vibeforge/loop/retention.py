"""Adapter retention with its references: what still needs each version, then the prune.

models.retention decides and `AdapterStore.prune` deletes, but models never read the store or
the elders; the references are gathered here and passed down as plain version numbers:

    published / queued for approval   a candidate that reached the outbox or the approval queue
                                      names the version that wrote it (store)
    elder <name> v<k>                 an example of the dataset elder <name> v<k> was trained on
                                      names the version that wrote it (its provenance)
    RL reference                      the newest version's SFT (or spawn) ancestor: RL's KL
                                      keeps the bot close to it (learn.rl, AdapterBank.reference)

Used by `vibeforge adapters prune` and by the loop after it saves a version (Runtime).
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path

from sqlalchemy import Engine

from vibeforge.config.retention import AdapterRetention
from vibeforge.models.adapters import AdapterStore, PruneReport
from vibeforge.paths import Home
from vibeforge.store import queries as q
from vibeforge.store import session_scope

log = logging.getLogger(__name__)

References = dict[str, dict[int, list[str]]]  # bot -> version -> why it is needed


def adapter_references(engine: Engine, home: Path, *, bot: str | None = None) -> References:
    """Every adapter version a publication, the approval queue or an elder names."""
    refs: References = defaultdict(lambda: defaultdict(list))

    def add(name: str, version: int, why: str) -> None:
        if (bot is None or name == bot) and why not in refs[name][version]:
            refs[name][version].append(why)

    with session_scope(engine) as s:
        for name, version, why in sorted(q.adapter_versions_in_use(s, bot=bot)):
            add(name, version, why)
    for name, version, why in _elder_references(home):
        add(name, version, why)
    for name, version in _rl_references(AdapterStore(Home(home).adapters), bot=bot):
        add(name, version, "RL reference")
    return {b: dict(versions) for b, versions in refs.items()}


def _elder_references(home: Path) -> list[tuple[str, int, str]]:
    """(bot, adapter version, "elder <name> v<k>") from each elder version's dataset."""
    from vibeforge.distill.dataset import DatasetStore
    from vibeforge.distill.elders import ElderStore
    from vibeforge.errors import VibeforgeError

    store = ElderStore(Home(home).elders)
    out: list[tuple[str, int, str]] = []
    for name in store.names():
        datasets = DatasetStore(store.datasets(name))
        for version in store.versions(name):
            try:
                record = store.record(name, version)
                if record.dataset_version is None:
                    continue
                examples = datasets.load(record.dataset_version).examples
            except (VibeforgeError, OSError, ValueError, KeyError, TypeError) as exc:
                log.warning(
                    "elder %s v%d: cannot read the adapter versions its dataset names (%s)",
                    name,
                    version,
                    exc,
                )
                continue
            out.extend(
                (e.bot, e.adapter_version, f"elder {name} v{version}")
                for e in examples
                if e.adapter_version is not None
            )
    return out


def _rl_references(store: AdapterStore, *, bot: str | None) -> list[tuple[str, int]]:
    """(bot, version) of each bot's newest version's nearest ancestor that RL did not write."""
    from vibeforge.errors import VibeforgeError

    out = []
    for name in [bot] if bot is not None else store.bots():
        try:
            numbers = store.version_numbers(name)
            record = store.record(name, numbers[-1]) if numbers else None
            while record is not None and record.kind == "rl" and record.parent is not None:
                record = store.record(name, record.parent)
        except (VibeforgeError, OSError, ValueError, KeyError) as exc:
            log.warning("bot %s: cannot follow its adapter lineage (%s)", name, exc)
            continue
        if record is not None and record.kind != "rl":
            out.append((name, record.version))
    return out


def prune_adapters(
    store: AdapterStore,
    *,
    engine: Engine,
    home: Path,
    policy: AdapterRetention,
    bots: Sequence[str] | None = None,
    dry_run: bool = False,
    now: datetime | None = None,
) -> list[PruneReport]:
    """Prune each bot's adapters (default: every bot with versions on disk) under `policy`."""
    names = list(bots) if bots is not None else store.bots()
    refs = adapter_references(engine, home, bot=names[0] if len(names) == 1 else None)
    return [
        store.prune(name, policy=policy, references=refs.get(name), now=now, dry_run=dry_run)
        for name in names
    ]
