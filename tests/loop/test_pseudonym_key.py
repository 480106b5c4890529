"""The configured pseudonym key is the one the loop uses, and a change of key is caught."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from vibeforge.config import load_settings
from vibeforge.errors import ConfigError
from vibeforge.loop.build import PSEUDONYM_KEY_FLAG, RuntimeSpec, check_pseudonym_key
from vibeforge.loop.config import LoopConfig
from vibeforge.paths import Home
from vibeforge.privacy.pseudonym import key_fingerprint
from vibeforge.store import make_engine, session_scope, upgrade
from vibeforge.store import queries as q

KEY_A = "a" * 40
KEY_B = "b" * 40


def test_a_recorded_key_must_match_unless_accepted(engine) -> None:
    assert check_pseudonym_key(engine, KEY_A) == key_fingerprint(KEY_A)
    assert check_pseudonym_key(engine, KEY_A) == key_fingerprint(KEY_A)  # same key: fine
    with pytest.raises(ConfigError, match="accept-pseudonym-key") as info:
        check_pseudonym_key(engine, KEY_B)
    assert KEY_B not in str(info.value) and KEY_A not in str(info.value)
    with session_scope(engine) as s:  # the refused key recorded nothing
        assert q.get_flag(s, name=PSEUDONYM_KEY_FLAG) == {"fingerprint": key_fingerprint(KEY_A)}
    check_pseudonym_key(engine, KEY_B, accept=True)
    check_pseudonym_key(engine, KEY_B)
    with pytest.raises(ConfigError):
        check_pseudonym_key(engine, KEY_A)


def test_the_fingerprint_tells_keys_apart_without_showing_them() -> None:
    fp = key_fingerprint(KEY_A)
    assert len(fp) == 16 and fp != key_fingerprint(KEY_B) and KEY_A[:8] not in fp
    with pytest.raises(ConfigError, match="shorter"):
        key_fingerprint("short")


def _settings(tmp_path: Path, key: str):
    return load_settings(
        env={
            "VIBEFORGE_CONFIG": str(tmp_path / "absent.yaml"),
            "VIBEFORGE_HOME": str(tmp_path / "home"),
            "VIBEFORGE_PSEUDONYM_KEY": key,
        },
    )


def test_run_uses_the_configured_key_and_refuses_another(tmp_path: Path) -> None:
    """`vibeforge run` builds its runtime with RuntimeSpec.from_settings: the key configured
    in the environment must be the one it pseudonymises with, not a generated one."""
    from vibeforge.sandbox import start_sandbox

    settings = _settings(tmp_path, KEY_A)
    home = Path(settings.home)
    upgrade(make_engine(settings.db_url))
    with start_sandbox(home=tmp_path / "sb", world="tiny", seed=0, speed=0) as sb:
        spec = RuntimeSpec.from_settings(settings, home=home, config=LoopConfig(), sandbox=sb)
        rt = spec()
        from vibeforge.privacy.pseudonym import pseudonymize

        assert rt.pseudonymize("12345") == pseudonymize("12345", key=KEY_A)
        secrets_file = Home(home).secrets_file
        assert not secrets_file.exists() or "pseudonym_key" not in (
            yaml.safe_load(secrets_file.read_text()) or {}
        )
        other = RuntimeSpec.from_settings(
            _settings(tmp_path, KEY_B), home=home, config=LoopConfig(), sandbox=sb
        )
        with pytest.raises(ConfigError, match="not the one this database"):
            other()
