"""Settings: defaults, YAML, environment, secrets, and errors that say how to fix them."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from vibeforge.config import load_settings
from vibeforge.errors import ConfigError


def test_defaults_without_a_file(tmp_path: Path) -> None:
    s = load_settings(env={"VIBEFORGE_CONFIG": str(tmp_path / "absent.yaml")})
    assert s.home == Path(".vibeforge")
    assert s.db_url.startswith("sqlite:///") and s.db_url.endswith(".vibeforge/vibeforge.db")
    assert s.platform.kind == "sandbox"


def test_yaml_then_env_override(tmp_path: Path) -> None:
    cfg = tmp_path / "v.yaml"
    cfg.write_text("home: /tmp/from-yaml\nlog_level: DEBUG\ntimelines:\n  - {name: a, source: x}\n")
    s = load_settings(cfg, env={"VIBEFORGE_HOME": str(tmp_path / "h")})
    assert s.home == tmp_path / "h" and s.log_level == "DEBUG"
    assert s.timelines[0].name == "a"


def test_secrets_from_env_and_file_are_hidden(tmp_path: Path) -> None:
    (tmp_path / "secrets.yaml").write_text("pseudonym_key: file-key-123\n")
    s = load_settings(
        env={
            "VIBEFORGE_CONFIG": str(tmp_path / "none.yaml"),
            "VIBEFORGE_HOME": str(tmp_path),
            "VIBEFORGE_X_BEARER_TOKEN": "AAAA-secret-bearer",
            "VIBEFORGE_DATABASE_URL": "postgresql://u:pw-9876@db/x",
        }
    )
    assert s.secrets.x_bearer_token is not None
    assert s.secrets.x_bearer_token.get_secret_value() == "AAAA-secret-bearer"
    assert s.secrets.pseudonym_key is not None
    assert s.secrets.pseudonym_key.get_secret_value() == "file-key-123"
    shown = repr(s) + str(s.redacted())
    assert "AAAA-secret-bearer" not in shown and "file-key-123" not in shown
    assert "pw-9876" not in str(s.redacted())


@pytest.mark.parametrize(
    ("yaml_text", "needle"),
    [
        ("platform:\n  kind: myspace\n", "platform.kind"),
        ("platform:\n  base_url: ftp://x\n", "http(s) URL"),
        ("bots:\n  - name: UPPER\n", "lowercase"),
        ("bots:\n  - name: a\n    unknown_field: 1\n", "unknown_field"),
        ("timelines:\n  - {name: t, source: x, poll_interval_s: 0}\n", "poll_interval_s"),
        ("- a\n- b\n", "top level must be a mapping"),
        (
            "timelines:\n  - {name: t, source: x}\nbots:\n  - {name: b, timeline: zz}\n",
            "unknown timeline 'zz'",
        ),
    ],
)
def test_invalid_values_fail_at_load_with_the_fix(
    tmp_path: Path, yaml_text: str, needle: str
) -> None:
    cfg = tmp_path / "v.yaml"
    cfg.write_text(yaml_text)
    with pytest.raises(ConfigError, match=r"v\.yaml") as info:
        load_settings(cfg, env={})
    assert needle in str(info.value)


def test_explicit_missing_config_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="vibeforge init"):
        load_settings(tmp_path / "missing.yaml", env={})


def test_bad_secret_file_does_not_echo_values(tmp_path: Path) -> None:
    (tmp_path / "secrets.yaml").write_text("x_bearer_token: [not, a, string-topsecret]\nnope: 1\n")
    with pytest.raises(ConfigError) as info:
        load_settings(
            env={"VIBEFORGE_HOME": str(tmp_path), "VIBEFORGE_CONFIG": str(tmp_path / "n")}
        )
    assert "topsecret" not in str(info.value)


@pytest.mark.parametrize(
    ("yaml_text", "needle"),
    [
        (
            "loop:\n  rl_group_size: 1\n",
            "loop.rl_group_size: must be >= 2 (got 1); set loop.rl_group_size: 4",
        ),
        ("loop:\n  jitter: 1.5\n", "loop.jitter: must be < 1 (got 1.5); set loop.jitter: 0.2"),
        (
            "loop:\n  budget_total_usd: -1\n",
            "loop.budget_total_usd: must be >= 0 (got -1); set loop.budget_total_usd: null",
        ),
        ("loop:\n  candidates: many\n", "loop.candidates: must be a valid integer"),
        ("loop:\n  candidatez: 4\n", "loop.candidatez: unknown setting; known: reward, candidates"),
        (
            "distill:\n  method: qlora\n",
            "distill.method: must be 'lora' or 'full' (got 'qlora'); set distill.method: lora",
        ),
        ("distill:\n  lora_rank: 0\n", "distill.lora_rank: must be >= 1 (got 0)"),
        ("distill:\n  per_bot: 2\n", "distill: per_bot (2) must be >= min_per_bot (4)"),
    ],
)
def test_bad_loop_and_distill_values_fail_at_load_naming_the_field(
    tmp_path: Path, yaml_text: str, needle: str
) -> None:
    cfg = tmp_path / "v.yaml"
    cfg.write_text(yaml_text)
    with pytest.raises(ConfigError, match=r"v\.yaml") as info:
        load_settings(cfg, env={})
    assert needle in str(info.value)


def test_loop_and_distill_sections_load_as_typed_configs(tmp_path: Path) -> None:
    from vibeforge.config import DistillConfig, LoopConfig

    cfg = tmp_path / "v.yaml"
    cfg.write_text("loop:\n  candidates: 2\n  rl_learning_rate: 1e-3\ndistill:\n  k: 3\n")
    s = load_settings(cfg, env={})
    assert isinstance(s.loop, LoopConfig) and isinstance(s.distill, DistillConfig)
    assert (s.loop.candidates, s.loop.rl_learning_rate, s.loop.rl_group_size) == (2, 1e-3, 4)
    assert s.distill.k == 3 and s.distill.clustering().startswith("k=3")
    assert s.redacted()["loop"]["candidates"] == 2


FLEET = """\
platform: {kind: sandbox}
platforms:
  sky: {kind: sandbox, face: bluesky}
  bsky: {kind: bluesky}
timelines:
  - {name: airlines, kind: list, source: '1500000'}
  - {name: apple, kind: list, source: 'at://did:plc:abc/app.bsky.graph.list/3kabc'}
bots:
  - {name: xbot, timeline: airlines}
  - {name: skybot, timeline: apple, platform: sky}
"""


def test_platforms_name_more_platforms_for_a_mixed_fleet(tmp_path: Path) -> None:
    cfg = tmp_path / "v.yaml"
    cfg.write_text(FLEET)
    s = load_settings(cfg, env={})
    assert {b.name: b.platform for b in s.bots} == {"xbot": None, "skybot": "sky"}
    assert s.platform_named(None) is s.platform and s.platform.registered_kind == "sandbox"
    assert s.platform_named("sky").registered_kind == "sandbox_bluesky"
    assert s.on("bsky").platform.kind == "bluesky" and s.on("bsky").platform.speaks_bluesky
    assert s.on(None) is s and not s.platform.speaks_bluesky  # `on` leaves the settings be
    # a single-platform config reads as before: no platforms, every bot on `platform:`
    cfg.write_text("platform: {kind: x}\nbots:\n  - {name: a}\n")
    single = load_settings(cfg, env={})
    assert single.platforms == {} and single.bots[0].platform is None


def test_an_unknown_platform_is_an_error_naming_the_known_ones(tmp_path: Path) -> None:
    cfg = tmp_path / "v.yaml"
    cfg.write_text(FLEET.replace("platform: sky}", "platform: skyy}"))
    with pytest.raises(ConfigError) as err:
        load_settings(cfg, env={})
    assert str(err.value) == (
        f"{cfg}: bots.skybot.platform: unknown platform 'skyy'; define it under 'platforms:' "
        "(known: bsky, sky), or leave it out for the 'platform:' section's"
    )
    cfg.write_text("bots:\n  - {name: a, platform: sky}\n")
    with pytest.raises(ConfigError, match=r"unknown platform 'sky'.*\(known: none defined\)"):
        load_settings(cfg, env={})
    s = load_settings(env={"VIBEFORGE_CONFIG": str(tmp_path / "absent.yaml")})
    with pytest.raises(ConfigError, match="--platform: unknown platform 'sky'"):
        s.on("sky", what="--platform")


@pytest.mark.parametrize(
    ("text", "needle"),
    [
        ("platforms:\n  Sky: {kind: sandbox}\n", "platforms: platform name 'Sky': use 1-63"),
        ("platforms:\n  sky: {kind: mastodon}\n", "platforms.sky.kind"),
        (
            "platforms:\n  sky: {kind: bluesky, face: bluesky}\n",
            "platforms.sky: face (bluesky) picks the sandbox's API",
        ),
    ],
)
def test_each_named_platform_checks_itself(tmp_path: Path, text: str, needle: str) -> None:
    cfg = tmp_path / "v.yaml"
    cfg.write_text(text)
    with pytest.raises(ConfigError, match=re.escape(needle)):
        load_settings(cfg, env={})


def test_bots_on_two_platforms_cannot_share_a_timeline(tmp_path: Path) -> None:
    cfg = tmp_path / "v.yaml"
    cfg.write_text(FLEET + "  - {name: skybot2, timeline: airlines, platform: sky}\n")
    with pytest.raises(ConfigError) as err:
        load_settings(cfg, env={})
    message = str(err.value)
    assert "bots.skybot2.platform: bot 'skybot2' is on platform 'sky'" in message
    assert "'xbot' on the 'platform:' section's platform" in message
    assert "both follow timeline 'airlines'" in message


def test_loop_config_pickles_by_field_name() -> None:
    """Specs travel pickled to Ray workers and chaos children; a process on a version of
    LoopConfig with a field added or removed must not shift the other fields (slot order)."""
    import pickle

    from vibeforge.config.loop import LoopConfig

    config = LoopConfig(candidates=3, rl_cadence="round", images_by_bot={"skybot": "none"})
    assert pickle.loads(pickle.dumps(config)) == config
    rebuild, (values,) = config.__reduce__()

    class Pickled:  # what another version's pickle of the same config holds
        def __init__(self, values: dict) -> None:
            self.values = values

        def __reduce__(self):
            return (rebuild, (self.values,))

    older = {k: v for k, v in values.items() if k != "candidates"}  # a version without it
    loaded = pickle.loads(pickle.dumps(Pickled(older)))
    assert loaded.candidates == LoopConfig().candidates  # its default, not a neighbour's value
    assert loaded.rl_cadence == "round" and loaded.images_by_bot == {"skybot": "none"}
    newer = {**values, "from_a_newer_version": 1}
    with pytest.raises(TypeError, match="from_a_newer_version"):
        pickle.loads(pickle.dumps(Pickled(newer)))
