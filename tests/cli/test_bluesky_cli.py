"""The command line on Bluesky: `init --platform`, names in Bluesky's spelling (domain handles,
list and feed AT URIs), and their lookups at `bot create` / `timeline add`, on the embedded
sandbox's Bluesky face and through XRPC (real Bluesky's kind, pointed at a served sandbox)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from vibeforge.config import load_settings

UNKNOWN_LIST = "at://did:plc:aaaaaaaaaaaaaaaaaaaaaaaa/app.bsky.graph.list/3kzzzzzzzzzzz"


def _error(code: int, err: str, *needles: str) -> None:
    assert code == 2, err
    assert err.strip().startswith("error:") and len(err.strip().splitlines()) == 1, err
    for needle in needles:
        assert needle in err, err


def test_init_writes_a_config_for_each_platform(cli, tmp_path: Path) -> None:
    code, out, _ = cli("init", "--platform", "bluesky")
    assert code == 0 and "VIBEFORGE_BLUESKY_APP_PASSWORDS" in out, out
    text = (tmp_path / "vibeforge.yaml").read_text()
    assert "kind: bluesky" in text and "app.bsky.graph.list" in text
    assert "Settings > Privacy and security > App passwords" in text  # where to get one
    settings = load_settings(tmp_path / "vibeforge.yaml", env={})
    assert settings.platform.registered_kind == "bluesky" and settings.platform.speaks_bluesky
    assert cli("init", "--platform", "bluesky")[0] == 0  # the same platform: nothing to say
    code, _, err = cli("init", "--platform", "x")
    _error(code, err, "its platform is bluesky, not x")
    (tmp_path / "vibeforge.yaml").unlink()
    assert cli("init", "--platform", "sandbox-bluesky")[0] == 0
    settings = load_settings(tmp_path / "vibeforge.yaml", env={})
    assert (settings.platform.kind, settings.platform.face) == ("sandbox", "bluesky")
    assert settings.platform.registered_kind == "sandbox_bluesky"
    code, _, err = cli("init", "--platform", "mastodon")
    _error(code, err, "unknown platform 'mastodon'", "sandbox-bluesky")
    code, _, err = cli("init", "--platform", "x", "--no-write-config")
    _error(code, err, "drop --no-write-config")


def test_face_is_the_sandboxs_only(tmp_path: Path) -> None:
    from vibeforge.errors import ConfigError

    (tmp_path / "v.yaml").write_text("platform: {kind: bluesky, face: bluesky}\n")
    with pytest.raises(ConfigError, match="applies to kind sandbox only"):
        load_settings(tmp_path / "v.yaml", env={})


def test_names_on_the_embedded_sandboxs_bluesky_face_are_checked(cli) -> None:
    from vibeforge.store import make_engine, session_scope
    from vibeforge.store import queries as q

    assert cli("init", "--platform", "sandbox-bluesky")[0] == 0
    code, _, err = cli("timeline", "add", "air0", "--list", UNKNOWN_LIST)
    assert code == 0 and "not checked: no sandbox world yet" in err, err
    assert cli("sandbox", "seed", "--world", "tiny")[0] == 0
    code, out, _ = cli("sandbox", "info", "--json")
    info = json.loads(out)
    air_list, air_feed = info["list_uris"]["airlines"], info["feed_uris"]["airlines"]
    assert air_list.startswith("at://did:plc:") and "app.bsky.feed.generator" in air_feed
    # X's spelling is refused on the Bluesky face, Bluesky's is looked up
    code, _, err = cli("timeline", "add", "air1", "--list", info["lists"]["airlines"])
    _error(code, err, "on Bluesky a list is its AT URI")
    code, _, err = cli("timeline", "add", "air2", "--list", UNKNOWN_LIST)
    _error(code, err, "the sandbox has no list", f"{air_list} (airlines)")
    code, _, err = cli("timeline", "add", "air3", "--list", air_list)
    assert code == 0 and "note" not in err, err
    code, _, err = cli("timeline", "add", "feed1", "--feed", air_feed.replace("airlines", "nope"))
    _error(code, err, "the sandbox has no feed", f"{air_feed} (airlines)")
    code, _, err = cli("timeline", "add", "feed2", "--feed", air_feed)
    assert code == 0 and "note" not in err, err
    code, _, err = cli("bot", "create", "sky", "--account", "skyhandle")
    _error(code, err, "a Bluesky handle is a domain name", "mybot.test")
    code, _, err = cli("bot", "create", "sky", "--account", "skyhandle.test")
    assert code == 0 and "@skyhandle.test has no sandbox account yet" in err, err
    code, out, _ = cli("sandbox", "account", "skyhandle", "--niche", "airlines")
    assert code == 0 and "skyhandle.test" in out
    token = out.split("token=")[1].split()[0]
    code, out, _ = cli("sandbox", "token", "skyhandle.test")
    assert code == 0 and out.strip() == token
    code, _, err = cli("bot", "create", "sky2", "--account", "skyhandle.test")
    assert code == 0 and "note" not in err, err
    engine = make_engine(load_settings(env={}).db_url)
    with session_scope(engine) as s:
        stored = {t.name: t for t in q.list_timelines(s)}
    assert stored["air3"].platform == stored["feed2"].platform == "sandbox_bluesky"
    assert stored["feed2"].kind.value == "feed" and stored["feed2"].source == air_feed


def test_on_bluesky_lookups_are_xrpc_reads(cli, tmp_path: Path, monkeypatch) -> None:
    """Kind bluesky pointed at a served sandbox's XRPC face, and the sandbox kind's Bluesky face
    served by another process: missing names are errors, unreachable ones notes."""
    from vibeforge.sandbox import start_sandbox

    with start_sandbox(home=tmp_path / "sb", world="tiny", seed=0, speed=0) as sb:
        token = sb.create_account("realbot", niche="airlines")
        lists, feeds = sb.list_uris(), sb.feed_uris()
        config = tmp_path / "vibeforge.yaml"
        config.write_text(f"platform:\n  kind: bluesky\n  base_url: {sb.xrpc_url}\n")
        monkeypatch.setenv("VIBEFORGE_BLUESKY_APP_PASSWORDS", f"realbot.test:{token}")
        assert cli("init")[0] == 0
        code, _, err = cli("bot", "create", "ghost", "--account", "nobody-here.test")
        _error(code, err, "bluesky has no @nobody-here.test")
        code, _, err = cli("bot", "create", "real", "--account", "realbot.test")
        assert code == 0 and "note" not in err, err
        code, _, err = cli("timeline", "add", "air", "--list", lists["airlines"])
        assert code == 0 and "note" not in err, err
        code, _, err = cli("timeline", "add", "nolist", "--list", UNKNOWN_LIST)
        _error(code, err, "bluesky has no list")
        code, _, err = cli("timeline", "add", "feed", "--feed", feeds["apple"])
        assert code == 0 and "note" not in err, err
        # a refused login (no session saved for this one) leaves the name unchecked
        monkeypatch.setenv("VIBEFORGE_BLUESKY_APP_PASSWORDS", "other.test:wrong-password")
        code, _, err = cli("bot", "create", "unchecked", "--account", "whoever.test")
        assert code == 0 and "@whoever.test not checked on bluesky" in err, err
        monkeypatch.delenv("VIBEFORGE_BLUESKY_APP_PASSWORDS")  # anonymous reads work too
        code, _, err = cli("bot", "create", "anon", "--account", "realbot.test")
        assert code == 0 and "note" not in err, err

        # the sandbox kind's Bluesky face, served elsewhere: lists through XRPC, accounts
        # through the admin API (by their .test handles)
        config.write_text(
            f"platform:\n  kind: sandbox\n  face: bluesky\n  base_url: {sb.base_url}\n"
        )
        monkeypatch.setenv("VIBEFORGE_SANDBOX_ADMIN_TOKEN", sb.admin_token)
        code, _, err = cli("timeline", "add", "air-b", "--list", lists["apple"])
        assert code == 0 and "note" not in err, err
        code, _, err = cli("timeline", "add", "nolist-b", "--list", UNKNOWN_LIST)
        _error(code, err, "the sandbox has no list")
        code, _, err = cli("bot", "create", "real-b", "--account", "realbot.test")
        assert code == 0 and "note" not in err, err
        code, _, err = cli("bot", "create", "new-b", "--account", "newbot.test")
        assert code == 0 and "@newbot.test has no sandbox account yet" in err, err
        code, _, err = cli("timeline", "add", "x-feed", "--feed", "not-a-uri")
        _error(code, err, "invalid feed")


def test_run_creates_sandbox_accounts_named_by_bluesky_handles(tmp_path: Path) -> None:
    from vibeforge.cli.run import _sandbox_accounts
    from vibeforge.domain import Bot
    from vibeforge.sandbox import start_sandbox

    with start_sandbox(home=tmp_path, world="tiny", seed=0, speed=0) as sb:
        bots = [Bot(name="b", timeline="apple", account="my-bot.test")]
        _sandbox_accounts(sb, bots, followers=5)
        assert sb.world.username("my-bot.test") == "my_bot"
        assert sb.user_token("my-bot.test") == sb.user_token("my_bot")
        assert sb.did("my-bot.test") == sb.did("my_bot")
        _sandbox_accounts(sb, bots, followers=5)  # found again: not created twice
        assert sb.world.store.count("SELECT COUNT(*) FROM users WHERE username = 'my_bot'") == 1
