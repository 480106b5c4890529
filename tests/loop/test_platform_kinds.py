"""Platforms are built by kind through the registry, from settings or a running sandbox."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from vibeforge.config import load_settings
from vibeforge.errors import ConfigError
from vibeforge.loop.build import RuntimeSpec, platform_context, sandbox_context
from vibeforge.platforms.auth import OAuth2UserAuth
from vibeforge.platforms.registry import PlatformContext, platform_factory
from vibeforge.platforms.x import XClient


def test_an_unknown_kind_names_the_known_ones(tmp_path: Path) -> None:
    known = r"\(known: bluesky, sandbox, sandbox_bluesky, x\)"
    with pytest.raises(ConfigError, match=rf"unknown platform 'myspace' {known}"):
        platform_factory("myspace")
    spec = RuntimeSpec(db_url="sqlite://", home=tmp_path, platform="myspace", context=None)  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match="known: bluesky, sandbox, sandbox_bluesky, x"):
        spec()


def test_the_x_kind_is_built_from_settings(tmp_path: Path) -> None:
    cfg = tmp_path / "v.yaml"
    cfg.write_text("platform:\n  kind: x\n  base_url: https://api.example.test\n")
    env = {"VIBEFORGE_X_BEARER_TOKEN": "app-bearer", "VIBEFORGE_X_CLIENT_ID": "cid"}
    settings = load_settings(cfg, env={**env, "VIBEFORGE_HOME": str(tmp_path)})
    token = {"access_token": "a", "refresh_token": "r", "expires_at": 4e9, "scope": "tweet.write"}
    (tmp_path / "tokens").mkdir()
    (tmp_path / "tokens" / "x-skybot.json").write_text(json.dumps(token))
    ctx = platform_context(settings, home=tmp_path, handles=["skybot", "other"])
    assert dict(ctx.secrets) == {"bearer_token": "app-bearer", "client_id": "cid"}
    client = platform_factory("x")(ctx)
    assert isinstance(client, XClient) and client.base_url == "https://api.example.test"
    assert isinstance(client._auth_for("skybot"), OAuth2UserAuth)  # its stored tokens post
    assert not isinstance(client._auth_for("other"), OAuth2UserAuth)  # no tokens: reads only
    assert "app-bearer" not in repr(ctx)


def test_the_x_kind_needs_a_bearer(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="VIBEFORGE_X_BEARER_TOKEN"):
        platform_factory("x")(PlatformContext(home=tmp_path))


def test_the_sandbox_kind_reads_platform_time(tmp_path: Path) -> None:
    from vibeforge.sandbox import start_sandbox
    from vibeforge.sandbox.clock import to_datetime

    with start_sandbox(home=tmp_path, world="tiny", seed=0, speed=0) as sb:
        sb.create_account("kindbot", niche="airlines")
        client = platform_factory("sandbox")(
            sandbox_context(sb, home=tmp_path, handles=["kindbot"])
        )
        assert client.now() == to_datetime(sb.world.now_ms())
        assert client.account(handle="kindbot").handle == "kindbot"
    with pytest.raises(ConfigError, match="running sandbox"):
        platform_factory("sandbox")(PlatformContext(home=tmp_path))
