"""Bots grouped into subsets by the embeddings of their recent outputs."""

from __future__ import annotations

import numpy as np
import pytest

from vibeforge.distill.cluster import agglomerate, make_plan
from vibeforge.distill.config import DistillConfig
from vibeforge.domain import Elder
from vibeforge.errors import ConfigError
from vibeforge.store import queries as q
from vibeforge.store import session_scope


def test_agglomerate_cuts_by_threshold_or_k() -> None:
    rng = np.random.default_rng(0)
    a, b = rng.normal(size=16), rng.normal(size=16)
    rows = np.stack([a + 0.05 * rng.normal(size=16) for _ in range(3)] + [b, b + 0.05])
    clusters, merges = agglomerate(rows, k=None, threshold=0.1)
    assert sorted(map(sorted, clusters)) == [[0, 1, 2], [3, 4]]
    assert all(d <= 0.1 for _, _, d in merges) and len(merges) == 3
    assert len(agglomerate(rows, k=1, threshold=0.1)[0]) == 1  # k overrides the threshold
    assert len(agglomerate(rows, k=4, threshold=0.1)[0]) == 4


def test_plan_groups_bots_by_niche_and_says_why(ecosystem, embedder) -> None:
    config = DistillConfig()
    plan = make_plan(ecosystem, embedder=embedder, config=config)
    groups = sorted(s.bots for s in plan.subsets)
    assert groups == [("fruit1", "fruit2"), ("sky1", "sky2")]
    assert "newbie" in plan.left_out and "2 guard-passing outputs" in plan.left_out["newbie"]
    sky = next(s for s in plan.subsets if "sky1" in s.bots)
    assert sky.niches == ("airlines",) and sky.name == "elder-airlines"
    assert any(r.startswith("merged sky1 with sky2 at distance") for r in sky.reasons)
    assert sky.nearest is not None and sky.nearest[0] == "elder-apple"
    assert sky.nearest[1] > config.distance_threshold  # why they stay apart
    assert plan.as_json()["subsets"][0]["reasons"]


def test_plan_with_k_and_existing_elder_names(ecosystem, embedder) -> None:
    with session_scope(ecosystem) as s:
        q.upsert_elder(s, elder=Elder(name="skyelder", base_model="tiny", bots=("sky1", "x")))
    plan = make_plan(ecosystem, embedder=embedder, config=DistillConfig(k=1))
    [only] = plan.subsets
    assert set(only.bots) == {"sky1", "sky2", "fruit1", "fruit2"}
    assert only.name == "skyelder" and only.elder == "skyelder"  # continues the elder
    assert any("k=1" in r for r in only.reasons)


def test_config_checks_itself() -> None:
    with pytest.raises(ValueError, match="min_per_bot"):
        DistillConfig(per_bot=2, min_per_bot=4)
    with pytest.raises(ConfigError, match=r"unknown settings.*'kk'"):
        DistillConfig.from_mapping({"kk": 3})
    with pytest.raises(ConfigError, match="method"):
        DistillConfig.from_mapping({"method": "qlora"})
    assert DistillConfig.from_mapping({"k": 3}).k == 3
