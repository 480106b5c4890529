"""Settings: `vibeforge.yaml` for the shape of the ecosystem, the environment for secrets.

Load order, later wins: built-in defaults < `vibeforge.yaml` < `VIBEFORGE_*` environment variables.
Secrets (API tokens, the pseudonymisation key) are read only from the environment or from a
secrets file (`$VIBEFORGE_HOME/secrets.yaml` or `VIBEFORGE_SECRETS_FILE`), never from
vibeforge.yaml, and never printed: they are `SecretStr` and `Settings.redacted()` hides them.

Every section is a typed model validated at load, the loop's (`config.loop.LoopConfig`),
distillation's (`config.distill.DistillConfig`) and retention's (`config.retention`) included:
a bad value fails in `load_settings`, naming the field and the fix. They live here, on the
ground floor, so imports point inward.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    ValidationError,
    field_validator,
    model_validator,
)

from vibeforge.config.distill import DistillConfig
from vibeforge.config.loop import LoopConfig
from vibeforge.config.retention import RetentionConfig
from vibeforge.config.validation import format_validation
from vibeforge.domain import TimelineKind
from vibeforge.errors import ConfigError
from vibeforge.logs import register_secrets
from vibeforge.paths import Home

DEFAULT_HOME = Path(".vibeforge")
CONFIG_FILE = "vibeforge.yaml"
NAME_PATTERN = re.compile(r"^[a-z0-9][a-z0-9_-]{0,62}$")
NAME_HINT = "use 1-63 lowercase letters, digits, '-' or '_', starting with a letter or digit"


HANDLE_PATTERN = re.compile(r"^[A-Za-z0-9_]{1,15}$")  # X's; sandbox accounts follow it too
LIST_ID_PATTERN = re.compile(r"^[0-9]{1,19}$")
# Bluesky: handles are domains (mybot.bsky.social); lists and feeds are AT URIs
DOMAIN_HANDLE_PATTERN = re.compile(
    r"^(?=.{3,253}$)([A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z][A-Za-z0-9-]{0,62}$"
)
AT_URI_PATTERN = {
    "list": re.compile(r"^at://[A-Za-z0-9:._%-]+/app\.bsky\.graph\.list/[A-Za-z0-9._:~-]{1,512}$"),
    "feed": re.compile(
        r"^at://[A-Za-z0-9:._%-]+/app\.bsky\.feed\.generator/[A-Za-z0-9._:~-]{1,512}$"
    ),
}


def _any_handle(handle: str) -> bool:
    """An X (or sandbox) handle, or a Bluesky domain handle."""
    return bool(HANDLE_PATTERN.match(handle) or DOMAIN_HANDLE_PATTERN.match(handle))


def check_handle(value: str, *, what: str = "account") -> str:
    """A platform handle (an optional leading @ dropped): it reaches API paths and file names,
    so anything but X's letters, digits and '_' (1-15) is refused with the fix."""
    handle = value.removeprefix("@")
    if not HANDLE_PATTERN.match(handle):
        raise ConfigError(
            f"invalid {what} handle {value!r}: use 1-15 letters, digits or '_' (like 'skybot')"
        )
    return handle


def check_bluesky_handle(value: str, *, what: str = "account") -> str:
    """A Bluesky handle (an optional leading @ dropped): a domain name."""
    handle = value.removeprefix("@")
    if not DOMAIN_HANDLE_PATTERN.match(handle):
        raise ConfigError(
            f"invalid {what} handle {value!r}: a Bluesky handle is a domain name, like "
            "'mybot.bsky.social' (on the sandbox's Bluesky face: 'mybot.test')"
        )
    return handle


def check_at_uri(value: str, *, kind: Literal["list", "feed"]) -> str:
    """A Bluesky list's or feed generator's AT URI."""
    if not AT_URI_PATTERN[kind].match(value):
        collection = "app.bsky.graph.list" if kind == "list" else "app.bsky.feed.generator"
        raise ConfigError(
            f"invalid {kind} {value!r}: on Bluesky a {kind} is its AT URI, "
            f"at://<owner's DID>/{collection}/<record key> ('vibeforge sandbox info' shows the "
            "sandbox's)"
        )
    return value


def check_list_id(value: str) -> str:
    """An X List id: digits only (the sandbox's lists are numbered the same way)."""
    if not LIST_ID_PATTERN.match(value):
        raise ConfigError(
            f"invalid list id {value!r}: a List id is its number, e.g. 1500000 "
            "(the last part of x.com/i/lists/1500000; 'vibeforge sandbox info' shows the sandbox's)"
        )
    return value


def check_name(value: str, *, what: str) -> str:
    """Validate a bot/timeline/elder name; raises ConfigError with the fix."""
    if not NAME_PATTERN.match(value):
        raise ConfigError(f"invalid {what} name {value!r}: {NAME_HINT}")
    return value


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class TimelineSpec(_Strict):
    name: str
    kind: TimelineKind = TimelineKind.HANDLES
    source: str  # list id, comma-separated handles, or the home account's handle
    poll_interval_s: int = Field(default=900, gt=0)

    @field_validator("name")
    @classmethod
    def _name(cls, v: str) -> str:
        if not NAME_PATTERN.match(v):
            raise ValueError(NAME_HINT)
        return v

    @model_validator(mode="after")
    def _source(self) -> TimelineSpec:
        # sources reach API paths: a list is its number (X) or its AT URI (Bluesky), a feed
        # its AT URI, handles are X handles or Bluesky's domain handles
        if self.kind == TimelineKind.LIST and not (
            LIST_ID_PATTERN.match(self.source) or AT_URI_PATTERN["list"].match(self.source)
        ):
            raise ValueError(
                f"source {self.source!r}: a list source is its id, e.g. '1500000', or on "
                "Bluesky its at://…/app.bsky.graph.list/… URI"
            )
        if self.kind == TimelineKind.FEED and not AT_URI_PATTERN["feed"].match(self.source):
            raise ValueError(
                f"source {self.source!r}: a feed source is a Bluesky feed generator's "
                "at://…/app.bsky.feed.generator/… URI"
            )
        if self.kind in (TimelineKind.HANDLES, TimelineKind.HOME):
            handles = [h.strip().removeprefix("@") for h in self.source.split(",")]
            if not all(_any_handle(h) for h in handles):
                raise ValueError(
                    f"source {self.source!r}: handles are 1-15 letters, digits or '_' on X, "
                    "domains like mybot.bsky.social on Bluesky (comma-separated for kind handles)"
                )
        return self


class BotSpec(_Strict):
    name: str
    timeline: str | None = None
    account: str | None = None
    persona: str = ""
    base_model: str = "smollm2-135m"
    posts_per_day: float = Field(default=4.0, gt=0, le=1000)
    # a key of `platforms:`; None: the `platform:` section (a fleet may mix platforms)
    platform: str | None = None

    @field_validator("name")
    @classmethod
    def _name(cls, v: str) -> str:
        if not NAME_PATTERN.match(v):
            raise ValueError(NAME_HINT)
        return v

    @field_validator("account")
    @classmethod
    def _account(cls, v: str | None) -> str | None:
        if v is not None and not _any_handle(v.removeprefix("@")):
            raise ValueError(
                "use 1-15 letters, digits or '_' (like 'skybot'), or a Bluesky handle "
                "(like 'skybot.bsky.social')"
            )
        return None if v is None else v.removeprefix("@")


class PlatformSettings(_Strict):
    kind: Literal["sandbox", "x", "bluesky"] = "sandbox"
    # which API the sandbox speaks to the bots: X API v2, or the AT Protocol (Bluesky's XRPC)
    face: Literal["x", "bluesky"] = "x"
    # None: the sandbox served by `vibeforge run` itself, or https://api.x.com for x; for kind
    # sandbox, the URL of one served by `vibeforge sandbox serve` (its admin token in
    # VIBEFORGE_SANDBOX_ADMIN_TOKEN)
    base_url: str | None = None

    @field_validator("base_url")
    @classmethod
    def _url(cls, v: str | None) -> str | None:
        if v is not None and not re.match(r"^https?://[^\s/]+", v):
            raise ValueError("must be an http(s) URL such as https://api.x.com")
        return v

    @model_validator(mode="after")
    def _face(self) -> PlatformSettings:
        if self.face != "x" and self.kind != "sandbox":
            raise ValueError(
                f"face ({self.face}) picks the sandbox's API and applies to kind sandbox only; "
                f"drop it (kind {self.kind} speaks its own API)"
            )
        return self

    @property
    def registered_kind(self) -> str:
        """The registered platform kind (`vibeforge.loop.platform_kinds`) these settings pick:
        x, bluesky, sandbox, or sandbox_bluesky for the sandbox's Bluesky face."""
        return "sandbox_bluesky" if self.kind == "sandbox" and self.face == "bluesky" else self.kind

    @property
    def speaks_bluesky(self) -> bool:
        """Whether the bots talk AT Protocol: handles are domains, lists and feeds AT URIs."""
        return self.registered_kind in ("bluesky", "sandbox_bluesky")


class Secrets(_Strict):
    x_bearer_token: SecretStr | None = None
    x_client_id: SecretStr | None = None
    x_client_secret: SecretStr | None = None
    # Bluesky app passwords of the bots' accounts: "handle:password,handle2:password2"
    bluesky_app_passwords: SecretStr | None = None
    sandbox_admin_token: SecretStr | None = None  # an external sandbox's (platform.base_url)
    pseudonym_key: SecretStr | None = None  # HMAC key for author pseudonyms
    dashboard_token: SecretStr | None = None

    @field_validator("dashboard_token")
    @classmethod
    def _dashboard_token(cls, v: SecretStr | None) -> SecretStr | None:
        if v is not None and len(v.get_secret_value()) < 8:
            raise ValueError(
                "the dashboard token must be at least 8 characters; "
                "set VIBEFORGE_DASHBOARD_TOKEN to a longer random string"
            )
        return v


_SECRET_ENV = {name: f"VIBEFORGE_{name.upper()}" for name in Secrets.model_fields}


class Settings(_Strict):
    home: Path = DEFAULT_HOME
    database_url: str | None = None  # None: sqlite:///<home>/vibeforge.db
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    platform: PlatformSettings = PlatformSettings()  # the bots' that name no other
    # more platforms by name, for a fleet that mixes them: a bot on one says `platform: NAME`
    platforms: dict[str, PlatformSettings] = Field(default_factory=dict)
    timelines: tuple[TimelineSpec, ...] = ()
    bots: tuple[BotSpec, ...] = ()
    loop: LoopConfig = Field(default_factory=LoopConfig)
    distill: DistillConfig = Field(default_factory=DistillConfig)
    retention: RetentionConfig = Field(default_factory=RetentionConfig)  # old adapter versions
    # each executor's options by its name, checked by the executor chosen (loop/executors.py)
    executors: dict[str, dict[str, Any]] = Field(default_factory=dict)
    secrets: Secrets = Secrets()

    @field_validator("database_url")
    @classmethod
    def _db_url(cls, v: str | None) -> str | None:
        if v is None:
            return v
        if not re.match(r"^(sqlite|postgresql)(\+\w+)?://", v):
            raise ValueError(
                "must start with sqlite:/// or postgresql:// "
                "(e.g. postgresql+psycopg://user@localhost/vibeforge)"
            )
        return v

    @field_validator("platforms")
    @classmethod
    def _platform_names(cls, v: dict[str, PlatformSettings]) -> dict[str, PlatformSettings]:
        for name in v:
            if not NAME_PATTERN.match(name):
                raise ValueError(f"platform name {name!r}: {NAME_HINT}")
        return v

    def platform_named(self, name: str | None, *, what: str = "platform") -> PlatformSettings:
        """The settings of platform `name` (a key of `platforms:`); None: `platform:`'s.
        ConfigError naming the known ones for any other name."""
        if name is None:
            return self.platform
        try:
            return self.platforms[name]
        except KeyError:
            known = ", ".join(sorted(self.platforms)) or "none defined"
            raise ConfigError(
                f"{what}: unknown platform {name!r}; define it under 'platforms:' "
                f"(known: {known}), or leave it out for the 'platform:' section's"
            ) from None

    def on(self, name: str | None, *, what: str = "platform") -> Settings:
        """These settings with platform `name` as `platform:`: what a command reads for a bot
        or timeline on that platform (names in its spelling, its base URL, its secrets)."""
        if name is None:
            return self
        return self.model_copy(update={"platform": self.platform_named(name, what=what)})

    @property
    def db_url(self) -> str:
        if self.database_url:
            return self.database_url
        return Home(self.home).database_url

    def redacted(self) -> dict[str, Any]:
        """The settings as a dict with every secret and database password hidden."""
        data = self.model_dump(mode="json", exclude={"secrets"})
        data["database_url"] = redact_url(self.db_url)
        data["secrets"] = {k: ("***" if v is not None else None) for k, v in self.secrets}
        return data


def redact_url(url: str) -> str:
    """Hide the password in a database URL."""
    return re.sub(r"(://[^:/@]+:)[^@]*@", r"\1***@", url)


def _url_password(url: str) -> str | None:
    match = re.search(r"://[^:/@]+:([^@]*)@", url)
    return match.group(1) if match else None


def _read_yaml(path: Path) -> dict[str, Any]:
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        raise ConfigError(f"{path}: invalid YAML{where}; fix the syntax and retry") from exc
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read ({exc.strerror})") from exc
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        raise ConfigError(
            f"{path}: the top level must be a mapping (key: value), not a list or a scalar"
        )
    return raw


def load_settings(
    config_path: Path | None = None, *, env: dict[str, str] | None = None
) -> Settings:
    """Build Settings from defaults, the YAML file and the environment; raise ConfigError."""
    env = dict(os.environ if env is None else env)
    path = config_path or Path(env.get("VIBEFORGE_CONFIG", CONFIG_FILE))
    data: dict[str, Any] = {}
    if path.exists():
        data = _read_yaml(path)
    elif config_path is not None:
        raise ConfigError(f"{path}: no such config file; run 'vibeforge init' or pass --config")
    source = str(path)
    if "secrets" in data:
        raise ConfigError(
            f"{source}: 'secrets' may not live in vibeforge.yaml; set VIBEFORGE_* environment "
            "variables or write them to $VIBEFORGE_HOME/secrets.yaml"
        )
    if "VIBEFORGE_HOME" in env:
        data["home"] = env["VIBEFORGE_HOME"]
    if "VIBEFORGE_DATABASE_URL" in env:
        data["database_url"] = env["VIBEFORGE_DATABASE_URL"]
    if "VIBEFORGE_LOG_LEVEL" in env:
        data["log_level"] = env["VIBEFORGE_LOG_LEVEL"].upper()
    try:
        settings = Settings.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(format_validation(exc, root=Settings, source=source)) from None
    secrets = _load_secrets(settings.home, env)
    register_secrets(v.get_secret_value() for _, v in secrets if v is not None)
    register_secrets([_url_password(settings.db_url)])
    _check_unique(settings, source=source)
    return settings.model_copy(update={"secrets": secrets})


def _load_secrets(home: Path, env: dict[str, str]) -> Secrets:
    file = Path(env.get("VIBEFORGE_SECRETS_FILE", Home(home).secrets_file))
    values: dict[str, Any] = {}
    if file.exists():
        values = _read_yaml(file)
    for name, var in _SECRET_ENV.items():
        if env.get(var):
            values[name] = env[var]
    try:
        return Secrets.model_validate(values)
    except ValidationError as exc:
        # never echo the input: it may be a secret
        first = exc.errors()[0]
        loc = ".".join(str(p) for p in first["loc"])
        raise ConfigError(
            f"{file}: {loc}: {first['msg']}; known secrets: {', '.join(_SECRET_ENV)}"
        ) from None


def _check_unique(settings: Settings, *, source: str) -> None:
    for what, items in (("timelines", settings.timelines), ("bots", settings.bots)):
        seen: set[str] = set()
        for item in items:
            if item.name in seen:
                raise ConfigError(
                    f"{source}: {what}: duplicate name {item.name!r}; names must be unique"
                )
            seen.add(item.name)
    names = {t.name for t in settings.timelines}
    for bot in settings.bots:
        if bot.timeline and names and bot.timeline not in names:
            raise ConfigError(
                f"{source}: bots.{bot.name}.timeline: unknown timeline {bot.timeline!r}; "
                f"define it under 'timelines:' (known: {', '.join(sorted(names))})"
            )
        settings.platform_named(bot.platform, what=f"{source}: bots.{bot.name}.platform")
    timeline_platform(settings, source=source)


def timeline_platform(settings: Settings, *, source: str = CONFIG_FILE) -> dict[str, str | None]:
    """The platform (a `platforms:` name; None: `platform:`) each timeline of the settings is
    read on: its bots'. A timeline is read through one platform, so bots on two platforms
    cannot share one; ConfigError naming them."""
    on: dict[str, str | None] = {}
    first: dict[str, str] = {}
    for bot in settings.bots:
        if not bot.timeline:
            continue
        if bot.timeline in on and on[bot.timeline] != bot.platform:
            other = first[bot.timeline]
            raise ConfigError(
                f"{source}: bots.{bot.name}.platform: bot {bot.name!r} is on "
                f"{_platform_label(bot.platform)} and {other!r} on "
                f"{_platform_label(on[bot.timeline])}, but both follow timeline "
                f"{bot.timeline!r}, which is read on one platform; give each platform's bots "
                "a timeline of their own"
            )
        on.setdefault(bot.timeline, bot.platform)
        first.setdefault(bot.timeline, bot.name)
    return on


def _platform_label(name: str | None) -> str:
    return "the 'platform:' section's platform" if name is None else f"platform {name!r}"


DEFAULT_YAML = """\
# vibeforge configuration. Secrets never go here: use VIBEFORGE_* environment variables
# or $VIBEFORGE_HOME/secrets.yaml.
log_level: INFO
platform:
  kind: sandbox          # sandbox (embedded, offline), x or bluesky (the real networks)
  # face: bluesky        # the sandbox through its AT Protocol face (see docs/bluesky.md)
  # base_url: https://api.x.com
# platforms:             # more platforms by name, for a fleet that mixes them
#   sky: {kind: sandbox, face: bluesky}   # a bot on it says `platform: sky`
# database_url: postgresql+psycopg://user@localhost/vibeforge   # default: SQLite in home
timelines: []
#  - name: airlines
#    kind: handles       # list | handles | home
#    source: "delta,united"
bots: []
#  - name: skybot
#    timeline: airlines
#    persona: "a frequent flyer who jokes about delays"
#    # platform: sky     # a key of platforms:; none: the platform: section's
"""
