"""The loop prunes a bot's old adapter versions after each save (retention.adapters), with the
settings' policy reaching the Runtime that `vibeforge run` builds."""

from __future__ import annotations

from pathlib import Path

from vibeforge.config import Settings
from vibeforge.config.retention import AdapterRetention, RetentionConfig
from vibeforge.domain import Bot, Candidate, CandidateStatus, Publication
from vibeforge.loop.build import RuntimeSpec
from vibeforge.loop.config import LoopConfig
from vibeforge.loop.runtime import Runtime
from vibeforge.models.adapters import AdapterStore
from vibeforge.models.testing import random_lora, tiny_base
from vibeforge.paths import Home
from vibeforge.store import make_engine, session_scope, upgrade
from vibeforge.store import queries as q


def _runtime(home: Path, retention: AdapterRetention | None) -> Runtime:
    engine = make_engine(Home(home).database_url)
    upgrade(engine)
    with session_scope(engine) as s:
        if q.list_bots(s) == []:
            q.create_bot(s, bot=Bot(name="sky"))
    return Runtime(
        engine=engine,
        platform=None,  # type: ignore[arg-type]  # never called
        home=home,
        clock=None,  # type: ignore[arg-type]
        scrubber=None,  # type: ignore[arg-type]
        pseudonymize=None,  # type: ignore[arg-type]
        retention=retention,
    )


def test_each_saved_version_prunes_the_bot_keeping_published_ones(tmp_path: Path) -> None:
    rt = _runtime(tmp_path, AdapterRetention(keep_last=2, keep_daily_days=0))
    store = AdapterStore(Home(tmp_path).adapters)
    base = tiny_base()
    for seed in range(3):
        rt.record_adapter(store.save("sky", random_lora(base, seed=seed)))
    assert store.version_numbers("sky") == [2, 3]
    with session_scope(rt.engine) as s:  # v3 writes a post that is published
        [c] = q.add_candidates(
            s,
            candidates=[
                Candidate(bot="sky", text="a", adapter_version=3, status=CandidateStatus.CHOSEN)
            ],
        )
        q.enqueue_publication(
            s,
            publication=Publication(
                idempotency_key=f"sky:{c.id}", bot="sky", text="a", candidate_id=c.id
            ),
        )
    for seed in range(3, 6):
        rt.record_adapter(store.save("sky", random_lora(base, seed=seed)))
    assert store.version_numbers("sky") == [3, 5, 6]
    with session_scope(rt.engine) as s:  # the store keeps every version's lineage
        assert [v.version for v in q.list_adapter_versions(s, bot="sky")] == [1, 2, 3, 4, 5, 6]


def test_no_pruning_when_switched_off(tmp_path: Path) -> None:
    store = AdapterStore(Home(tmp_path).adapters)
    base = tiny_base()
    off = AdapterRetention(keep_last=1, keep_daily_days=0, prune_after_save=False)
    for retention in (off, None):
        rt = _runtime(tmp_path, retention)
        rt.record_adapter(store.save("sky", random_lora(base, seed=1)))
        rt.record_adapter(store.save("sky", random_lora(base, seed=2)))
    assert store.version_numbers("sky") == [1, 2, 3, 4]


def test_the_settings_policy_reaches_the_runtime_spec(tmp_path: Path) -> None:
    upgrade(make_engine(Home(tmp_path).database_url))
    policy = AdapterRetention(keep_last=7, keep_daily_days=3)
    settings = Settings(home=tmp_path, retention=RetentionConfig(adapters=policy))
    spec = RuntimeSpec.from_settings(settings, home=tmp_path, config=LoopConfig())
    assert spec.retention == policy
