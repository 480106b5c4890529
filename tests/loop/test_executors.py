"""Executors by name, each checking its own options from the settings' `executors:` section;
the ray executor's model actors, each serving the shard of bots its rendezvous hash names."""

from __future__ import annotations

import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from vibeforge.domain import Bot
from vibeforge.errors import ConfigError
from vibeforge.loop.build import RuntimeSpec
from vibeforge.loop.cycle import RoundReport
from vibeforge.loop.executors import (
    ExecutorOptions,
    RayOptions,
    executor_options,
    make_executor,
    merge_reports,
    shard_of,
    shards,
)
from vibeforge.loop.ingest import IngestReport
from vibeforge.loop.observe import ObserveReport
from vibeforge.models.testing import TINY_TEST_MODEL
from vibeforge.store import make_engine, session_scope
from vibeforge.store import queries as q

from .conftest import FAST, Eco, make_eco


def test_each_executor_reads_its_own_section() -> None:
    settings = {"ray": {"num_cpus": 2, "num_gpus": 0.5}}
    assert executor_options("ray", settings) == RayOptions(num_cpus=2, num_gpus=0.5)
    assert executor_options("ray") == RayOptions()
    assert executor_options("local", settings) == ExecutorOptions()


@pytest.mark.parametrize(
    ("settings", "needle"),
    [
        ({"ray": {"num_gpu": 1}}, "executors.ray.num_gpu: unknown setting; known: address"),
        ({"ray": {"num_cpus": 0}}, "executors.ray.num_cpus: must be >= 1 (got 0)"),
        ({"ray": {"model_actors": 0}}, "executors.ray.model_actors: must be >= 1 (got 0)"),
        ({"local": {"threads": 4}}, "executors.local.threads: unknown setting"),
    ],
)
def test_bad_options_name_the_option(settings, needle) -> None:
    name = next(iter(settings))
    with pytest.raises(ConfigError) as info:
        executor_options(name, settings)
    assert needle in str(info.value)


def test_an_unknown_executor_names_the_known_ones() -> None:
    known = r"unknown executor 'dask'; choose from \['local', 'ray'\]"
    with pytest.raises(ConfigError, match=known):
        make_executor("dask", lambda: None)  # type: ignore[arg-type, return-value]


def test_options_under_a_misspelt_executor_are_an_error() -> None:
    with pytest.raises(ConfigError, match=r"executors\.rey: no such executor"):
        executor_options("local", {"rey": {"num_cpus": 2}})


def test_rendezvous_hashing_moves_few_bots() -> None:
    bots = [f"bot{i}" for i in range(3000)]
    assert all(shard_of(b, 1) == 0 for b in bots[:50])
    for n in range(1, 8):
        before = {b: shard_of(b, n) for b in bots}
        after = {b: shard_of(b, n + 1) for b in bots}
        moved = [b for b in bots if before[b] != after[b]]
        # a bot moves only to the new actor, and about 1/(n+1) of them do
        assert all(after[b] == n for b in moved)
        assert abs(len(moved) / len(bots) - 1 / (n + 1)) < 0.03, (n, len(moved))
        counts = [list(after.values()).count(a) for a in range(n + 1)]
        assert max(counts) / min(counts) < 1.25, counts  # balanced
    # a bot's actor depends on its name alone: others coming and going never move it
    few = shards(bots[:40], 3)
    more = shards(["newcomer", *bots[:40:2], "another"], 3)
    for actor, names in enumerate(more):
        assert {b for b in names if b in bots} <= set(few[actor])
    assert sum(map(len, few)) == 40 and all(few)
    with pytest.raises(ValueError, match="must be >= 1"):
        shard_of("skybot", 0)


def test_merge_reports_keeps_every_part() -> None:
    a = RoundReport(ingest=[IngestReport(timeline="airlines", stored=3)], relabelled={"apple": 2})
    a.observe["skybot"] = ObserveReport()
    b = RoundReport(ingest=[IngestReport(timeline="apple", stored=1)], relabelled={"apple": 5})
    b.observe["fruitbot"] = ObserveReport()
    a.seconds, b.seconds = {"ingest": 1.0, "act": 4.0}, {"act": 6.0}
    merged = merge_reports([a, b], into=RoundReport())
    assert merged.seconds == {"ingest": 1.0, "act": 6.0}  # shards run side by side
    assert [r.timeline for r in merged.ingest] == ["airlines", "apple"]
    assert sorted(merged.observe) == ["fruitbot", "skybot"]
    assert merged.relabelled == {"apple": 7}


# four bots over two niches; with two actors, skybot hashes to actor 1 and the others to 0
EXTRA_BOTS = (("jetbot", "airlines"), ("pearbot", "apple"))
BOTS = ["fruitbot", "jetbot", "pearbot", "skybot"]
SHARDED = {"ray": {"model_actors": 2, "model_cpus": 0}}  # one CPU per node stays for the tasks


def _four_bots(home: Path) -> Eco:
    eco = make_eco(home)
    with session_scope(make_engine(eco.spec.db_url)) as s:
        for bot, niche in EXTRA_BOTS:
            eco.sandbox.create_account(bot, niche=niche, followers=300)  # type: ignore[attr-defined]
            q.create_bot(
                s, bot=Bot(name=bot, timeline=niche, account=bot, persona=f"a {niche} lover")
            )
    eco.spec = RuntimeSpec.for_sandbox(
        eco.sandbox,  # type: ignore[arg-type]
        db_url=eco.spec.db_url,
        home=home,
        config=eco.spec.config,
        model=TINY_TEST_MODEL,
        ner=False,
        key="k" * 32,
    )
    return eco


def _adapters(eco: Eco) -> dict[str, tuple[int, dict]]:
    """Each bot's newest adapter version and its weights."""
    from safetensors.torch import load_file

    out = {}
    with session_scope(make_engine(eco.spec.db_url)) as s:
        for bot in BOTS:
            v = q.latest_adapter_version(s, bot=bot)
            assert v is not None, f"{bot} has no adapter"
            out[bot] = (v.version, load_file(str(Path(v.path) / "adapter_model.safetensors")))
    return out


@pytest.fixture
def ray_local():  # type: ignore[no-untyped-def]
    """A one-node Ray cluster in this process, one CPU and a small object store."""
    ray = pytest.importorskip("ray")
    if ray.is_initialized():  # an earlier test's executor started one
        ray.shutdown()
    ray.init(
        num_cpus=1, object_store_memory=100 * 2**20, include_dashboard=False, log_to_driver=False
    )
    yield ray
    ray.shutdown()


def test_sharded_round_runs_each_bot_on_its_actor(tmp_path, ray_local) -> None:
    import torch

    assert shards(BOTS, 2) == [["fruitbot", "jetbot", "pearbot"], ["skybot"]]
    local_eco, ray_eco = _four_bots(tmp_path / "local"), _four_bots(tmp_path / "ray")
    ex = make_executor("ray", ray_eco.spec, settings=SHARDED)
    try:
        local = make_executor("local", local_eco.spec).run_round()
        report = ex.run_round()
        shard_list = report.shards  # type: ignore[attr-defined]
        assert [(s.actor, s.bots, s.error) for s in shard_list] == [
            (0, ["fruitbot", "jetbot", "pearbot"], None),
            (1, ["skybot"], None),
        ]
        assert shard_list[0].pid != shard_list[1].pid  # two actor processes
        # what each actor holds in memory is the shard its hash names, and nothing else
        assert [sorted(r) for r in ex.resident()] == shards(BOTS, 2)  # type: ignore[attr-defined]
        # the same seeded world and bots: the same learning and acting as the local executor
        assert sorted(report.act) == sorted(local.act) == BOTS
        for bot in BOTS:
            assert report.learn[bot].sft_version == local.learn[bot].sft_version == 1
            assert report.learn[bot].reward_model_version == local.learn[bot].reward_model_version
            assert report.act[bot].generated == local.act[bot].generated == FAST.candidates
        assert sorted((r.timeline, r.stored) for r in report.ingest) == sorted(
            (r.timeline, r.stored) for r in local.ingest
        )
        # seeded SFT gives the same weights (to float rounding: the actors run one thread)
        theirs, ours = _adapters(local_eco), _adapters(ray_eco)
        for bot in BOTS:
            assert theirs[bot][0] == ours[bot][0]
            assert theirs[bot][1].keys() == ours[bot][1].keys()
            for name, w in theirs[bot][1].items():
                torch.testing.assert_close(ours[bot][1][name], w, atol=1e-4, rtol=1e-3)

        # an actor that dies fails its shard only; a new one serves it the next round
        ray_local.kill(ex.workers[1])  # type: ignore[attr-defined]
        ray_eco.sandbox.advance(hours=7)  # type: ignore[attr-defined]
        hurt = ex.run_round()
        failed = hurt.failed  # type: ignore[attr-defined]
        assert [(s.actor, s.bots) for s in failed] == [(1, ["skybot"])]
        assert "ActorDiedError" in (failed[0].error or "")
        assert sorted(hurt.act) == ["fruitbot", "jetbot", "pearbot"]  # the others' reports
        assert "skybot" in hurt.observe  # the light steps ran for every bot
        ray_eco.sandbox.advance(hours=7)  # type: ignore[attr-defined]
        healed = ex.run_round()
        assert not healed.failed and "skybot" in healed.act  # type: ignore[attr-defined]
    finally:
        ex.close()
        local_eco.sandbox.stop()  # type: ignore[attr-defined]
        ray_eco.sandbox.stop()  # type: ignore[attr-defined]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _stop_node(proc: subprocess.Popen) -> None:
    """SIGTERM the `ray start --block` process group we started (it takes its node down)."""
    for sig, wait in ((signal.SIGTERM, 30), (signal.SIGKILL, 10)):
        try:
            os.killpg(proc.pid, sig)
            proc.wait(timeout=wait)
            return
        except ProcessLookupError:
            return
        except subprocess.TimeoutExpired:
            continue


def _ray_auth(token: str | None) -> None:
    """This process's Ray token: `token` (its nodes get it from the environment), or back to
    whatever the environment says (Ray caches both the mode and the token)."""
    from ray._raylet import AuthenticationTokenLoader, Config

    if token is not None:
        os.environ["RAY_AUTH_TOKEN"] = token
    Config.initialize("")
    AuthenticationTokenLoader.instance().reset_cache()


@pytest.mark.slow
def test_model_actors_spread_over_two_nodes(tmp_path, wait_for, monkeypatch) -> None:
    ray = pytest.importorskip("ray")
    cli = Path(sys.executable).with_name("ray")
    if not cli.exists():
        pytest.skip(f"`ray start` is unavailable: no {cli}")
    if ray.is_initialized():
        ray.shutdown()
    # `ray start` turns token authentication on; a token of this test's own, for its nodes and
    # this driver, keeps it on without reading or writing ~/.ray
    monkeypatch.setenv("RAY_AUTH_MODE", "token")
    monkeypatch.delenv("RAY_AUTH_TOKEN_PATH", raising=False)
    _ray_auth(secrets.token_hex(32))
    port = _free_port()
    temp = tempfile.mkdtemp(prefix="vf-ray-", dir="/tmp")  # Ray's socket paths must stay short
    common = [
        "--num-cpus=1",
        f"--object-store-memory={100 * 2**20}",
        "--node-ip-address=127.0.0.1",
        "--disable-usage-stats",
        '--resources={"vf_model": 1}',  # one model actor per node, whatever SPREAD does
        "--block",  # the node lives as long as this process: stopped by its id, no `ray stop`
    ]
    starts = [
        ["--head", f"--port={port}", "--include-dashboard=false", f"--temp-dir={temp}"],
        [f"--address=127.0.0.1:{port}"],
    ]
    nodes: list[subprocess.Popen] = []
    eco = _four_bots(tmp_path)
    try:
        for i, args in enumerate(starts):
            with open(tmp_path / f"node{i}.log", "wb") as log:
                nodes.append(
                    subprocess.Popen(
                        [str(cli), "start", *args, *common],
                        stdout=log,
                        stderr=subprocess.STDOUT,
                        start_new_session=True,
                    )
                )
            if i == 0:
                assert wait_for(lambda: _listening(port), timeout=60), _tail(tmp_path / "node0.log")
        ray.init(address=f"127.0.0.1:{port}", log_to_driver=False)
        alive = lambda: [n["NodeID"] for n in ray.nodes() if n["Alive"]]  # noqa: E731
        assert wait_for(lambda: len(alive()) == 2, timeout=60), _tail(tmp_path / "node1.log")
        # a node alive in the GCS may not be in its scheduler's view yet: SPREAD would miss it
        assert wait_for(lambda: ray.available_resources().get("CPU") == 2, timeout=60)
        one_per_node = {"ray": {**SHARDED["ray"], "model_resources": {"vf_model": 1}}}
        ex = make_executor("ray", eco.spec, settings=one_per_node)
        try:
            report = ex.run_round()
        finally:
            ex.close()
        shard_list = report.shards  # type: ignore[attr-defined]
        assert [(s.bots, s.error) for s in shard_list] == [(b, None) for b in shards(BOTS, 2)]
        assert shard_list[0].node != shard_list[1].node  # one actor on each node
        assert {s.node for s in shard_list} == set(alive())
        assert sorted(report.act) == BOTS and all(report.act[b].generated for b in BOTS)
    finally:
        ray.shutdown()
        for proc in reversed(nodes):
            _stop_node(proc)
        eco.sandbox.stop()  # type: ignore[attr-defined]
        shutil.rmtree(temp, ignore_errors=True)
        monkeypatch.undo()
        _ray_auth(None)


def _listening(port: int) -> bool:
    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", port)) == 0


def _tail(path: Path) -> str:
    return path.read_text(errors="replace")[-3000:] if path.exists() else f"{path}: no log"
