"""Settings: defaults, YAML, environment, secrets, and errors that say how to fix them."""

from __future__ import annotations

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
