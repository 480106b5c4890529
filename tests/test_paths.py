"""The home folder's layout: every place pinned, so a rename is a decision, not an accident."""

from __future__ import annotations

from pathlib import Path

from vibeforge.config import load_settings
from vibeforge.paths import Home, SandboxFolder


def test_every_place_under_the_home_is_where_existing_homes_keep_it(tmp_path: Path) -> None:
    home = Home(tmp_path)
    places = {
        home.database: "vibeforge.db",
        home.secrets_file: "secrets.yaml",
        home.tokens: "tokens",
        home.token_file("x", "@skybot"): "tokens/x-skybot.json",
        home.token_file("x", "skybot"): "tokens/x-skybot.json",
        home.adapters: "adapters",
        home.reward_models("skybot"): "reward_models/skybot",
        home.elders: "elders",
        home.spawn("sky2"): "spawn/sky2",
        home.memorization: "memorization",
        home.models: "models",
        home.gguf("m.gguf"): "models/gguf/m.gguf",
        home.sandbox: "sandbox",
        home.sandbox_world.database: "sandbox/sandbox.db",
        home.sandbox_world.embeddings: "sandbox/embeddings",
        home.sandbox_world.audience: "sandbox/audience.npz",
        home.reports: "reports",
        home.demo.root: "demo",
        home.demo.adapters: "demo/adapters",
    }
    for path, relative in places.items():
        assert path == tmp_path / relative, relative
    assert SandboxFolder(tmp_path).database == tmp_path / "sandbox.db"
    assert Home(str(tmp_path)) == home  # a str root is a Path root


def test_settings_default_database_and_secrets_file_follow_the_home(tmp_path: Path) -> None:
    (tmp_path / "secrets.yaml").write_text("pseudonym_key: from-the-home-file\n")
    settings = load_settings(
        env={"VIBEFORGE_HOME": str(tmp_path), "VIBEFORGE_CONFIG": str(tmp_path / "none.yaml")}
    )
    assert settings.db_url == f"sqlite:///{(tmp_path / 'vibeforge.db').resolve()}"
    assert settings.db_url == Home(tmp_path).database_url
    assert settings.secrets.pseudonym_key is not None
    assert settings.secrets.pseudonym_key.get_secret_value() == "from-the-home-file"
