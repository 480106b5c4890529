"""The home folder's layout: every place vibeforge keeps state under `$VIBEFORGE_HOME`.

    <home>/vibeforge.db                    the store (SQLite, unless database_url says otherwise)
           secrets.yaml                    generated secrets (pseudonym key), mode 0600
           tokens/x-<handle>.json          OAuth 2.0 user tokens, mode 0600
           adapters/<bot>/v0003/...        LoRA adapter versions (models.adapters)
           reward_models/<bot>/v3.npz      reward model versions, with v3.json (learn.reward_model)
           elders/<name>/v0002/...         elder versions, datasets, checkpoints (distill.elders)
           spawn/<bot>/warm-start.jsonl    what an elder wrote to warm-start a spawned bot
           memorization/                   the regurgitation guard's index (privacy.memorization)
           models/<name>/                  base models prepared as safetensors (models.base)
                  gguf/<file>.gguf         GGUF files joined from a package's parts
           sandbox/sandbox.db              the embedded sandbox's world (sandbox.engine)
                   embeddings/             its sentence-embedding cache
                   audience.npz            its simulated audience
           reports/                        demo reports (HTML)
           demo/                           the demo's own home (a Home of its own)

Ground floor: imports nothing of vibeforge, so every part may name its places through it.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True, slots=True)
class SandboxFolder:
    """A sandbox world's folder (`<home>/sandbox`, or any folder a World is given)."""

    root: Path

    @property
    def database(self) -> Path:
        return self.root / "sandbox.db"

    @property
    def embeddings(self) -> Path:
        return self.root / "embeddings"

    @property
    def audience(self) -> Path:
        return self.root / "audience.npz"


@dataclass(frozen=True, slots=True)
class Home:
    """Names every place under one home folder; creates nothing (callers mkdir what they write)."""

    root: Path

    def __post_init__(self) -> None:
        object.__setattr__(self, "root", Path(self.root))

    @property
    def database(self) -> Path:
        return self.root / "vibeforge.db"

    @property
    def database_url(self) -> str:
        """The default store: SQLite in the home (absolute, so any working directory finds it)."""
        return f"sqlite:///{self.database.resolve()}"

    @property
    def secrets_file(self) -> Path:
        return self.root / "secrets.yaml"

    @property
    def tokens(self) -> Path:
        return self.root / "tokens"

    def token_file(self, platform: str, handle: str) -> Path:
        """The user token of `handle` on `platform` ("@sky" and "sky" name the same file); a
        handle that could name another folder is refused."""
        name = f"{platform}-{handle.lstrip('@')}.json"
        if "/" in name or "\\" in name or ".." in name or "\x00" in name:
            raise ValueError(f"refusing a token file name built from {handle!r}")
        return self.tokens / name

    @property
    def adapters(self) -> Path:
        return self.root / "adapters"

    def reward_models(self, bot: str) -> Path:
        return self.root / "reward_models" / bot

    @property
    def elders(self) -> Path:
        return self.root / "elders"

    def spawn(self, bot: str) -> Path:
        return self.root / "spawn" / bot

    @property
    def memorization(self) -> Path:
        return self.root / "memorization"

    @property
    def models(self) -> Path:
        return self.root / "models"

    def gguf(self, file_name: str) -> Path:
        return self.models / "gguf" / file_name

    @property
    def sandbox(self) -> Path:
        return self.root / "sandbox"

    @property
    def sandbox_world(self) -> SandboxFolder:
        return SandboxFolder(self.sandbox)

    @property
    def reports(self) -> Path:
        return self.root / "reports"

    @property
    def demo(self) -> Home:
        return Home(self.root / "demo")
