"""Adapter retention: the pure decision (last N, referenced, one per day) and the prune on disk."""

from __future__ import annotations

import json
import os
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from vibeforge.config.retention import AdapterRetention
from vibeforge.models.adapters import CONFIG, META, TENSORS, AdapterStore
from vibeforge.models.retention import VersionState, plan_retention
from vibeforge.models.testing import random_lora

NOW = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)


def _day(n: int, hour: int = 9) -> datetime:
    """`n` days before NOW's day, at `hour` UTC."""
    return datetime(2026, 3, 10 - n, hour, tzinfo=UTC)


def _kept(verdicts) -> dict[int, tuple[str, ...]]:  # type: ignore[no-untyped-def]
    return {v.version: v.reasons for v in verdicts if v.keep}


def _gone(verdicts) -> dict[int, tuple[str, ...]]:  # type: ignore[no-untyped-def]
    return {v.version: v.reasons for v in verdicts if not v.keep}


# ---------------------------------------------------------------- the pure decision


def test_keeps_the_last_n_the_referenced_and_the_newest_of_each_day_and_nothing_else() -> None:
    # two versions a day for 8 days (day 7 ago .. today), oldest first: v1 .. v16
    states = [
        VersionState(version=2 * i + k + 1, created_at=_day(7 - i, hour=8 + 6 * k), size_bytes=10)
        for i in range(8)
        for k in range(2)
    ]
    policy = AdapterRetention(keep_last=3, keep_daily_days=4)
    refs = {1: ["published"], 3: ["elder sky v1", "queued for approval"], 99: ["published"]}
    verdicts = plan_retention(states, policy=policy, now=NOW, references=refs)

    assert [v.version for v in verdicts] == list(range(1, 17))
    assert _kept(verdicts) == {
        1: ("published",),
        3: ("elder sky v1", "queued for approval"),
        # the newest version of each of the last 4 UTC days (today = day 0: v16)
        10: ("daily 2026-03-07",),
        12: ("daily 2026-03-08",),
        14: ("last 3", "daily 2026-03-09"),
        15: ("last 3",),
        16: ("newest", "last 3", "daily 2026-03-10"),
    }
    assert set(_gone(verdicts)) == {2, 4, 5, 6, 7, 8, 9, 11, 13}
    assert all(r == ("expired",) for r in _gone(verdicts).values())


def test_no_daily_rule_when_days_is_zero_and_naive_times_count_as_utc() -> None:
    states = [
        VersionState(version=v, created_at=(_day(0) - timedelta(hours=v)).replace(tzinfo=None))
        for v in (1, 2, 3)
    ]
    verdicts = plan_retention(
        states, policy=AdapterRetention(keep_last=1, keep_daily_days=0), now=NOW
    )
    assert _kept(verdicts) == {3: ("newest", "last 1")}
    daily = plan_retention(states, policy=AdapterRetention(keep_last=1, keep_daily_days=1), now=NOW)
    assert _kept(daily) == {3: ("newest", "last 1", "daily 2026-03-10")}


def test_broken_versions_go_but_the_newest_number_and_the_newest_good_one_stay() -> None:
    states = [
        VersionState(version=1, created_at=_day(3)),
        VersionState(version=2, created_at=_day(2), broken="meta missing"),
        VersionState(version=3, created_at=_day(1)),
        VersionState(version=4, broken="sha256 mismatch"),  # newest, torn
    ]
    policy = AdapterRetention(keep_last=1, keep_daily_days=0)
    verdicts = plan_retention(states, policy=policy, now=NOW, references={2: ["published"]})
    assert _kept(verdicts) == {
        3: ("newest good", "last 1"),
        4: ("newest number (never reused)",),  # so the next save never takes number 4 again
    }
    # a broken version is useless even when something names it
    assert _gone(verdicts) == {1: ("expired",), 2: ("broken: meta missing",)}


def test_nothing_is_deleted_when_no_version_is_readable() -> None:
    states = [VersionState(version=v, broken="torn") for v in (1, 2, 3)]
    verdicts = plan_retention(
        states, policy=AdapterRetention(keep_last=1, keep_daily_days=0), now=NOW
    )
    assert all(v.keep for v in verdicts) and len(verdicts) == 3
    assert plan_retention([], policy=AdapterRetention(), now=NOW) == []


def test_settings_reject_a_policy_that_could_delete_the_newest() -> None:
    with pytest.raises(ValueError, match="greater than or equal to 1"):
        AdapterRetention(keep_last=0)
    with pytest.raises(ValueError, match="greater than or equal to 0"):
        AdapterRetention(keep_daily_days=-1)


# ---------------------------------------------------------------- on disk


def _save(store: AdapterStore, tiny, n: int, *, days_ago: list[int]) -> None:  # type: ignore[no-untyped-def]
    """Save `n` versions of "sky", dated `days_ago[i]` days before NOW (09:00 UTC)."""
    for i in range(n):
        v = store.save("sky", random_lora(tiny, seed=i))
        meta = Path(v.path) / META
        data = json.loads(meta.read_text())
        data["created_at"] = _day(days_ago[i]).isoformat()
        meta.write_text(json.dumps(data))


def _folder_bytes(folder: Path) -> int:
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())


def test_prune_deletes_exactly_what_the_policy_does_not_keep(tiny, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    store = AdapterStore(tmp_path)
    _save(store, tiny, 8, days_ago=[9, 8, 8, 6, 5, 2, 2, 0])
    sizes = {v: _folder_bytes(store.path("sky", v)) for v in store.version_numbers("sky")}
    policy = AdapterRetention(keep_last=2, keep_daily_days=3)

    dry = store.prune("sky", policy=policy, references={2: ["published"]}, now=NOW, dry_run=True)
    assert store.version_numbers("sky") == [1, 2, 3, 4, 5, 6, 7, 8]  # a dry run deletes nothing
    assert dry.dry_run and [v.version for v in dry.removed] == [1, 3, 4, 5, 6]
    assert dry.bytes_freed == sum(sizes[v] for v in (1, 3, 4, 5, 6)) > 0

    report = store.prune("sky", policy=policy, references={2: ["published"]}, now=NOW)
    assert {v.version: v.reasons for v in report.kept} == {
        2: ("published",),
        7: ("last 2", "daily 2026-03-08"),
        8: ("newest", "last 2", "daily 2026-03-10"),
    }
    assert [v.version for v in report.removed] == [1, 3, 4, 5, 6]
    assert store.version_numbers("sky") == [2, 7, 8]
    assert report.bytes_freed == dry.bytes_freed
    assert not [p for p in (tmp_path / "sky").iterdir() if p.name.startswith(".")]
    assert store.load_good("sky").version.version == 8
    assert store.save("sky", random_lora(tiny, seed=9)).version == 9


def test_prune_removes_torn_versions_but_never_the_newest_good_one(tiny, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    store = AdapterStore(tmp_path)
    _save(store, tiny, 4, days_ago=[3, 2, 1, 0])
    (store.path("sky", 2) / META).unlink()  # torn: the bank skips it
    tensors = store.path("sky", 4) / TENSORS  # the newest no longer matches its checksum
    data = bytearray(tensors.read_bytes())
    data[-5] ^= 0xFF
    tensors.write_bytes(bytes(data))
    policy = AdapterRetention(keep_last=1, keep_daily_days=0)

    report = store.prune("sky", policy=policy, now=NOW)
    assert {v.version: v.reasons for v in report.kept} == {
        3: ("newest good", "last 1"),
        4: ("newest number (never reused)",),
    }
    gone = {v.version: v.reasons for v in report.removed}
    assert set(gone) == {1, 2} and gone[1] == ("expired",)
    assert gone[2][0].startswith("broken:") and META in gone[2][0]
    assert store.version_numbers("sky") == [3, 4]
    assert store.load_good("sky").version.version == 3
    # once a newer good version exists, the torn newest one goes too
    store.save("sky", random_lora(tiny, seed=7))
    report = store.prune("sky", policy=policy, now=NOW)
    assert [v.version for v in report.removed] == [3, 4]
    assert store.version_numbers("sky") == [5]


def test_prune_keeps_everything_when_no_version_loads(tiny, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    store = AdapterStore(tmp_path)
    _save(store, tiny, 2, days_ago=[1, 0])
    for v in (1, 2):
        (store.path("sky", v) / CONFIG).unlink()
    report = store.prune("sky", policy=AdapterRetention(keep_last=1, keep_daily_days=0), now=NOW)
    assert report.removed == () and store.version_numbers("sky") == [1, 2]


def test_prune_sweeps_leftovers_of_interrupted_writes_and_deletes(tiny, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    store = AdapterStore(tmp_path)
    _save(store, tiny, 1, days_ago=[0])
    folder = tmp_path / "sky"
    stale, fresh, dead = folder / ".tmp-old", folder / ".tmp-busy", folder / ".del-v0001-ab12"
    for p in (stale, fresh, dead):
        p.mkdir()
        (p / TENSORS).write_bytes(b"x" * 100)
    hours_ago = time.time() - 2 * 3600
    os.utime(stale, (hours_ago, hours_ago))  # a write that died two hours ago

    dry = store.prune("sky", policy=AdapterRetention(), now=NOW, dry_run=True)
    assert set(dry.leftovers) == {".tmp-old", ".del-v0001-ab12"} and dry.bytes_freed == 200
    assert stale.exists() and dead.exists()
    report = store.prune("sky", policy=AdapterRetention(), now=NOW)
    assert set(report.leftovers) == {".tmp-old", ".del-v0001-ab12"}
    assert not stale.exists() and not dead.exists()
    assert fresh.exists()  # a save may be filling it right now
    assert store.version_numbers("sky") == [1] and report.removed == ()
