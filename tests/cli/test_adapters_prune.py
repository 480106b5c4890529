"""`vibeforge adapters prune`: keeps what publications, the approval queue and elders name, the
last N and one a day; a dry run deletes nothing; text, JSON and errors as every command."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from vibeforge.domain import Candidate, CandidateStatus, Publication
from vibeforge.models.adapters import AdapterStore
from vibeforge.paths import Home


@pytest.fixture
def home(cli, tmp_path: Path) -> Home:  # type: ignore[no-untyped-def]
    """A project with bot "sky" and 8 adapter versions (v1 in an elder's dataset, v2 published,
    v3 queued for approval, v4 only discarded), all saved today."""
    from vibeforge.distill.dataset import DatasetStore, Example, Selection
    from vibeforge.distill.elders import ElderStore
    from vibeforge.models.testing import random_lora, tiny_base
    from vibeforge.store import make_engine, session_scope
    from vibeforge.store import queries as q

    assert cli("init")[0] == 0
    assert cli("bot", "create", "sky")[0] == 0
    with (tmp_path / "vibeforge.yaml").open("a") as f:
        f.write("retention:\n  adapters:\n    keep_last: 2\n    keep_daily_days: 30\n")
    home = Home(tmp_path / ".vibeforge")
    base = tiny_base()
    store = AdapterStore(home.adapters)
    for seed in range(8):
        store.save("sky", random_lora(base, seed=seed))
    with session_scope(make_engine(home.database_url)) as s:
        chosen, *_ = q.add_candidates(
            s,
            candidates=[
                Candidate(bot="sky", text="a", adapter_version=2, status=CandidateStatus.CHOSEN),
                Candidate(bot="sky", text="b", adapter_version=3, status=CandidateStatus.QUEUED),
                Candidate(bot="sky", text="c", adapter_version=4, status=CandidateStatus.DISCARDED),
            ],
        )
        q.enqueue_publication(
            s,
            publication=Publication(
                idempotency_key=f"sky:{chosen.id}", bot="sky", text="a", candidate_id=chosen.id
            ),
        )
    elders = ElderStore(home.elders)
    example = Example(
        text="a",
        niche="air",
        bot="sky",
        adapter_version=1,
        candidate_id=None,
        predicted_reward=None,
        engagement=None,
        score=None,
    )
    DatasetStore(elders.datasets("elder1")).save(
        subset="elder1", selection=Selection(examples=(example,), quota=1, available={"sky": 1})
    )

    def write(folder: Path) -> str:
        (folder / "model.safetensors").write_bytes(b"weights")
        return "model.safetensors"

    elders.save(
        "elder1",
        write=write,
        base_model="tiny",
        method="full",
        bots=("sky",),
        niches=("air",),
        dataset_version=1,
    )
    return home


def test_dry_run_reports_the_plan_and_deletes_nothing(cli, home: Home) -> None:  # type: ignore[no-untyped-def]
    store = AdapterStore(home.adapters)
    files = [p for v in (4, 5, 6) for p in store.path("sky", v).rglob("*") if p.is_file()]
    sizes = sum(p.stat().st_size for p in files)
    code, out, _ = cli("adapters", "prune", "--dry-run", "--json")
    assert code == 0
    data = json.loads(out)
    assert data["dry_run"] is True
    [sky] = data["bots"]
    kept = {v["version"]: v["reasons"] for v in sky["kept"]}
    assert kept == {
        1: ["elder elder1 v1"],
        2: ["published"],
        3: ["queued for approval"],
        7: ["last 2"],
        8: ["newest", "last 2", "RL reference", kept[8][3]],  # its own SFT version
    }
    assert kept[8][3].startswith("daily ")  # every version was saved today
    assert [v["version"] for v in sky["removed"]] == [4, 5, 6]
    assert sky["bytes_freed"] == data["bytes_freed"] == sizes > 0
    assert store.version_numbers("sky") == [1, 2, 3, 4, 5, 6, 7, 8]

    code, out, _ = cli("adapters", "prune", "--dry-run")
    assert code == 0 and "would remove" in out and "nothing was deleted" in out
    assert store.version_numbers("sky") == [1, 2, 3, 4, 5, 6, 7, 8]


def test_prune_removes_the_rest_and_says_what_it_kept_and_freed(cli, home: Home) -> None:  # type: ignore[no-untyped-def]
    store = AdapterStore(home.adapters)
    code, out, _ = cli("adapters", "prune", "--bot", "sky")
    assert code == 0
    assert store.version_numbers("sky") == [1, 2, 3, 7, 8]
    for needle in ("published", "queued for approval", "elder elder1 v1", "last 2", "removed"):
        assert needle in out
    assert "removed 3 versions, freed" in out and "KB" in out
    assert store.load_good("sky").version.version == 8

    code, out, _ = cli("adapters", "prune", "--json")  # nothing left to remove
    assert code == 0
    [sky] = json.loads(out)["bots"]
    assert sky["removed"] == [] and sky["bytes_freed"] == 0


def test_unknown_bot_and_bad_settings_are_one_line_errors(cli, home: Home, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    code, _, err = cli("adapters", "prune", "--bot", "ghost")
    assert code == 2 and "ghost" in err and "no adapter versions" in err
    assert len(err.strip().splitlines()) == 1
    text = (tmp_path / "vibeforge.yaml").read_text().replace("keep_last: 2", "keep_last: 0")
    (tmp_path / "vibeforge.yaml").write_text(text)
    code, _, err = cli("adapters", "prune")
    assert code == 2 and "retention.adapters.keep_last: must be >= 1" in err
    assert AdapterStore(home.adapters).version_numbers("sky") == [1, 2, 3, 4, 5, 6, 7, 8]


def test_rl_keeps_its_reference_sft_version(cli, home: Home) -> None:  # type: ignore[no-untyped-def]
    """Two RL versions on top of v8: v8 is neither newest, nor in the last 2, nor the day's
    newest, but RL's KL keeps the bot close to it, so it stays."""
    from vibeforge.models.testing import random_lora, tiny_base

    store = AdapterStore(home.adapters)
    base = tiny_base()
    rl = store.save("sky", random_lora(base, seed=9), kind="rl", parent=8)
    store.save("sky", random_lora(base, seed=10), kind="rl", parent=rl.version)
    code, out, _ = cli("adapters", "prune", "--dry-run", "--json")
    assert code == 0
    [sky] = json.loads(out)["bots"]
    kept = {v["version"]: v["reasons"] for v in sky["kept"]}
    assert kept[8] == ["RL reference"]
    assert 7 in [v["version"] for v in sky["removed"]]
