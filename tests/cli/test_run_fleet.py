"""`vibeforge run` on a fleet that mixes platforms, configured in vibeforge.yaml: two bots on
the embedded sandbox's X face and one on its Bluesky face (`platforms:`), one round through
the command, each bot publishing with its own platform's client."""

from __future__ import annotations

import signal
from collections.abc import Iterator
from pathlib import Path

import pytest

from vibeforge.models.testing import TINY_TEST_MODEL
from vibeforge.sandbox.atids import did_for
from vibeforge.sandbox.server import list_uris, open_world

# the tiny model's posts pass the guard by the luck of the draw: tests/loop/conftest.py's FAST
LOOP = (
    "loop: {candidates: 2, max_new_tokens: 8, sft_min_new_posts: 10, sft_max_steps: 2, "
    "rm_min_new_labels: 10, rl_group_size: 2, off_policy_min: 2, sampling_precision: float32}"
)


@pytest.fixture
def signals() -> Iterator[None]:
    """`vibeforge run` installs its SIGTERM/SIGINT handlers: give pytest its own back."""
    saved = {s: signal.getsignal(s) for s in (signal.SIGTERM, signal.SIGINT)}
    yield
    for s, handler in saved.items():
        signal.signal(s, handler)


def _fleet_yaml(home: Path, *, x_list: str, bsky_list: str) -> str:
    bot = f"account: {{}}, base_model: {TINY_TEST_MODEL}, posts_per_day: 4"
    return f"""\
home: {home}
platform: {{kind: sandbox}}
platforms:
  sky: {{kind: sandbox, face: bluesky}}
{LOOP}
timelines:
  - {{name: airlines, kind: list, source: '{x_list}'}}
  - {{name: apple, kind: list, source: '{bsky_list}'}}
bots:
  - {{name: xbot, timeline: airlines, {bot.format("xbot")}}}
  - {{name: xbot2, timeline: airlines, {bot.format("xbot2")}}}
  - {{name: skybot, timeline: apple, platform: sky, {bot.format("skybot.test")}}}
"""


def test_run_drives_a_fleet_on_both_faces_of_the_sandbox(cli, tmp_path: Path, signals) -> None:
    from vibeforge.store import make_engine, session_scope
    from vibeforge.store import queries as q

    home = tmp_path / "home"
    world = open_world(home=home, world="tiny", seed=0, speed=0)  # the world `run` will serve
    x_list = str(world.store.one("SELECT id FROM lists WHERE niche = 'airlines'")[0])
    bsky_list = list_uris(world.store)["apple"]
    world.close()
    (tmp_path / "vibeforge.yaml").write_text(_fleet_yaml(home, x_list=x_list, bsky_list=bsky_list))

    code, out, err = cli("init")
    assert code == 0, err
    engine = make_engine(f"sqlite:///{home / 'vibeforge.db'}")
    with session_scope(engine) as s:
        stored = {b.name: b.platform for b in q.list_bots(s)}
        timelines = {t.name: t.platform for t in q.list_timelines(s)}
    assert stored == {"xbot": None, "xbot2": None, "skybot": "sky"}
    # a timeline is on its bots' platform (the dashboard shows a bot's platform by it)
    assert timelines == {"airlines": "sandbox", "apple": "sandbox_bluesky"}

    published: dict[str, list[str]] = {}
    for _ in range(3):  # a round at a time, until each bot has posted (the guard may refuse)
        code, out, err = cli("run", "--rounds", "1", "--interval", "0", "--speed", "0")
        assert code == 0, err[-3000:]
        assert "round 1:" in out, out
        with session_scope(engine) as s:
            published = {name: [p.id for p in q.list_posts(s, bot=name)] for name in stored}
        if all(published.values()):
            break
    assert all(published.values()), published

    with session_scope(engine) as s:
        platforms = {name: {p.platform for p in q.list_posts(s, bot=name)} for name in stored}
        calls = {(c.bot, c.kind) for c in q.list_api_calls(s)}
        read = {t: {p.platform for p in q.list_posts(s, timeline=t)} for t in timelines}
    # each bot's posts were published, and stored, on its own face
    assert platforms == {"xbot": {"x"}, "xbot2": {"x"}, "skybot": {"bluesky"}}
    assert read == {"airlines": {"x"}, "apple": {"bluesky"}}  # and each timeline read there
    # the call ledger charged each bot's writes as its platform counts them
    for name in ("xbot", "xbot2"):
        assert (name, "post_create") in calls and (name, "bsky_write") not in calls
    assert ("skybot", "bsky_write") in calls and ("skybot", "post_create") not in calls

    world = open_world(home=home, world="tiny", seed=0, speed=0)  # the served world's records
    try:
        skybot = world.store.one("SELECT id FROM users WHERE username = 'skybot'")
        assert skybot is not None
        for name in ("xbot", "xbot2"):
            for post_id in published[name]:
                assert post_id.isdigit()  # an X post id: the X client published it
                row = world.store.one(
                    "SELECT u.username, p.made_with_ai FROM posts p "
                    "JOIN users u ON u.id = p.author_id WHERE p.id = ?",
                    (int(post_id),),
                )
                assert row is not None and tuple(row) == (name, 1)  # X's AI label
                assert not world.store.count(
                    "SELECT COUNT(*) FROM at_records WHERE post_id = ?", (int(post_id),)
                )  # no AT Protocol record: not through the XRPC face
        for post_id in published["skybot"]:
            owner, rkey = post_id.split("/")  # did/rkey: the Bluesky client published it
            row = world.store.one(
                "SELECT r.collection, u.username FROM at_records r "
                "JOIN users u ON u.id = r.author_id WHERE r.rkey = ?",
                (rkey,),
            )
            assert row is not None and tuple(row) == ("app.bsky.feed.post", "skybot")
            assert owner == did_for("user", int(skybot[0]))
    finally:
        world.close()


def test_bots_are_grouped_by_platform_and_a_stale_one_is_refused(tmp_path: Path) -> None:
    from vibeforge.cli.run import bots_by_platform
    from vibeforge.config import load_settings
    from vibeforge.domain import Bot
    from vibeforge.errors import ConfigError

    cfg = tmp_path / "v.yaml"
    cfg.write_text(
        "platforms:\n  sky: {kind: sandbox, face: bluesky}\n  bsky: {kind: bluesky}\n"
        "bots:\n  - {name: skybot, platform: sky}\n"
    )
    settings = load_settings(cfg, env={})
    bots = [
        Bot(name="b", platform="sky"),
        Bot(name="skybot", platform="sky"),
        Bot(name="a", platform="bsky"),
        Bot(name="x"),
    ]
    groups = bots_by_platform(settings, bots)
    assert list(groups) == [None, "bsky", "sky"]  # `platform:`'s first: its runtime's bank
    assert {k: [b.name for b in v] for k, v in groups.items()} == {
        None: ["x"],
        "bsky": ["a"],
        "sky": ["b", "skybot"],
    }
    # a stored bot on a platform vibeforge.yaml no longer defines
    with pytest.raises(
        ConfigError, match=r"bot 'gone': unknown platform 'old';.*\(known: bsky, sky\)"
    ):
        bots_by_platform(settings, [*bots, Bot(name="gone", platform="old")])
    # a bot declared on one platform and created on another
    with pytest.raises(
        ConfigError, match=r"puts bot 'skybot' on platforms\.sky, but it was created on platform:"
    ):
        bots_by_platform(settings, [Bot(name="skybot")])


def test_the_ray_executor_refuses_a_mixed_fleet(tmp_path: Path) -> None:
    from vibeforge.errors import ConfigError
    from vibeforge.loop.build import FleetSpec, RuntimeSpec
    from vibeforge.loop.executors import make_executor
    from vibeforge.platforms.registry import PlatformContext

    def spec(kind: str) -> RuntimeSpec:  # never built: ray refuses before anything starts
        context = PlatformContext(home=tmp_path, handles=())
        return RuntimeSpec(db_url="sqlite://", home=tmp_path, platform=kind, context=context)

    mixed = FleetSpec(parts=((spec("sandbox"), ("xbot",)), (spec("sandbox_bluesky"), ("sky",))))
    with pytest.raises(ConfigError, match=r"on 2 \(sandbox, sandbox_bluesky\).*--executor local"):
        make_executor("ray", mixed)


def test_a_fleets_round_takes_its_platforms_seconds_one_after_the_other() -> None:
    from vibeforge.loop.cycle import RoundReport
    from vibeforge.loop.executors import merge_reports

    a, b = RoundReport(), RoundReport()
    a.seconds, b.seconds = {"ingest": 1.0, "act": 4.0}, {"act": 6.5}
    merged = merge_reports([a, b], into=RoundReport(), side_by_side=False)
    assert merged.seconds == {"ingest": 1.0, "act": 10.5}


def test_timelines_and_bots_are_created_on_a_named_platform(cli, tmp_path: Path) -> None:
    from vibeforge.config import load_settings
    from vibeforge.store import make_engine, session_scope
    from vibeforge.store import queries as q

    (tmp_path / "vibeforge.yaml").write_text("platforms:\n  sky: {kind: sandbox, face: bluesky}\n")
    assert cli("init")[0] == 0
    at_list = "at://did:plc:abc/app.bsky.graph.list/3kabc"
    code, _, err = cli("timeline", "add", "apple", "--list", at_list, "--no-check")
    assert code == 2 and "a List id is its number" in err  # `platform:` is the X face
    code, _, err = cli(
        "timeline", "add", "apple", "--list", at_list, "--no-check", "--platform", "sky"
    )
    assert code == 0, err
    assert cli("timeline", "add", "air", "--list", "1500000", "--no-check")[0] == 0
    code, _, err = cli("bot", "create", "sky", "--account", "sky.test", "--no-check")
    assert code == 2 and "1-15 letters" in err  # an X handle on `platform:`
    code, _, err = cli(
        "bot", "create", "sky", "-t", "apple", "--account", "sky.test", "--no-check",
        "--platform", "sky",
    )  # fmt: skip
    assert code == 0, err
    code, _, err = cli("bot", "create", "sky2", "-t", "air", "--platform", "sky")
    assert code == 2 and "timeline 'air' is read on sandbox, but platform 'sky' is" in err, err
    code, _, err = cli("bot", "create", "sky3", "--platform", "nope")
    assert code == 2 and "--platform: unknown platform 'nope'" in err and "known: sky" in err
    engine = make_engine(load_settings(env={}).db_url)
    with session_scope(engine) as s:
        bots = {b.name: (b.platform, b.account) for b in q.list_bots(s)}
        timelines = {t.name: t.platform for t in q.list_timelines(s)}
    assert bots == {"sky": ("sky", "sky.test")}
    assert timelines == {"apple": "sandbox_bluesky", "air": "sandbox"}
