"""At creation, look a bot's account or a timeline's list or feed up on the configured platform.

`bot create --account` and `timeline add --list/--feed` used to succeed silently for names the
platform does not have; the first sign was a loop that never posted or never read. Now:

- a list or feed the platform does not have is an error (on the sandbox, one that names the
  ones it does have);
- an account on the sandbox that does not exist yet is a note (`vibeforge run` creates the
  bot accounts it needs); one on X or Bluesky that does not exist is an error;
- when the platform cannot be asked (no sandbox world yet, the network unreachable, no
  credentials), a note says the name was not checked. `--no-check` skips the lookup.

Names are the platform's: on X and the sandbox's X face, list ids and X handles; on Bluesky
and the sandbox's Bluesky face (`platform: {kind: sandbox, face: bluesky}`), list and feed AT
URIs and domain handles (`mybot.bsky.social`, `mybot.test` on the sandbox).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from vibeforge.errors import ConfigError
from vibeforge.paths import Home

if TYPE_CHECKING:
    from vibeforge.config import Settings
    from vibeforge.platforms.bluesky import BlueskyClient
    from vibeforge.platforms.x import XClient
    from vibeforge.sandbox.remote import RemoteSandbox


@dataclass(frozen=True)
class _Embedded:
    """What the embedded sandbox's store says, in both faces' names."""

    lists: dict[str, str]  # list id -> niche (the X face)
    list_uris: dict[str, str]  # list AT URI -> niche (the Bluesky face)
    feeds: dict[str, str]  # feed generator AT URI -> niche
    accounts: set[str]  # usernames and their `.test` handles, lower case


def _embedded(settings: Settings) -> _Embedded | None:
    """The embedded sandbox's lists, feeds and accounts, read from its store; None when no
    world has been seeded yet."""
    from vibeforge.sandbox.atids import handle_for
    from vibeforge.sandbox.server import feed_uris, list_uris
    from vibeforge.sandbox.store import SandboxStore

    path = Home(settings.home).sandbox_world.database
    if not path.exists():
        return None
    store = SandboxStore(path)  # the store, not a World: a World would re-anchor the clock
    try:
        if store.get_meta("world") is None:
            return None
        lists = {str(r[0]): str(r[1]) for r in store.all("SELECT id, niche FROM lists")}
        uris = {uri: niche for niche, uri in list_uris(store).items()}
        names = [str(r[0]) for r in store.all("SELECT username FROM users")]
    finally:
        store.close()
    feeds = {uri: niche for niche, uri in feed_uris(sorted(set(lists.values()))).items()}
    accounts = {n.lower() for n in names} | {handle_for(n) for n in names}
    return _Embedded(lists=lists, list_uris=uris, feeds=feeds, accounts=accounts)


def _known(names: dict[str, str]) -> str:
    return ", ".join(f"{i} ({niche})" for i, niche in sorted(names.items())) or "none"


def check_list(settings: Settings, list_id: str) -> str | None:
    """None when the list (an id, or on Bluesky an AT URI) exists, a note when it could not be
    checked; ConfigError when it is absent."""
    kind, base_url = settings.platform.kind, settings.platform.base_url
    bluesky = settings.platform.speaks_bluesky
    if kind == "sandbox" and base_url is None:
        found = _embedded(settings)
        if found is None:
            return f"list {list_id} not checked: no sandbox world yet ('vibeforge run' seeds one)"
        lists = found.list_uris if bluesky else found.lists
    elif kind == "sandbox" and not bluesky:
        remote = _remote(settings)
        if remote is None:
            return f"list {list_id} not checked: no VIBEFORGE_SANDBOX_ADMIN_TOKEN for {base_url}"
        with remote:
            lists = {i: niche for niche, i in remote.list_ids().items()}
    elif bluesky:
        return _bluesky_lookup(settings, lambda c: _read_one(c, "list", list_id), f"list {list_id}")
    else:
        return _x_lookup(
            settings,
            lambda c: (
                None
                if c.list_members(list_id=list_id, max_users=1)
                else f"list {list_id} on {kind} has no members, or does not exist"
            ),
            f"list {list_id}",
        )
    if list_id not in lists:
        raise ConfigError(f"the sandbox has no list {list_id}; its lists: {_known(lists)}")
    return None


def check_feed(settings: Settings, uri: str) -> str | None:
    """None when the Bluesky feed generator exists, a note when it could not be checked;
    ConfigError when it is absent, or when the platform has no feeds (X)."""
    if not settings.platform.speaks_bluesky:
        raise ConfigError(
            f"feeds are Bluesky's; platform {settings.platform.registered_kind} reads lists, "
            "handles or a home timeline (or set platform: {kind: sandbox, face: bluesky})"
        )
    if settings.platform.kind == "sandbox" and settings.platform.base_url is None:
        found = _embedded(settings)
        if found is None:
            return f"feed {uri} not checked: no sandbox world yet ('vibeforge run' seeds one)"
        if uri not in found.feeds:
            raise ConfigError(f"the sandbox has no feed {uri}; its feeds: {_known(found.feeds)}")
        return None
    return _bluesky_lookup(settings, lambda c: _read_one(c, "feed", uri), f"feed {uri}")


def check_account(settings: Settings, handle: str) -> str | None:
    """None when the account exists, a note when it will be created or could not be checked;
    ConfigError when X or Bluesky says it does not exist."""
    kind, base_url = settings.platform.kind, settings.platform.base_url
    will_create = f"@{handle} has no sandbox account yet: 'vibeforge run' creates it"
    if kind == "sandbox" and base_url is None:
        found = _embedded(settings)
        if found is None:
            return will_create
        return None if handle.lower() in found.accounts else will_create
    if kind == "sandbox":
        from vibeforge.sandbox.problems import SandboxError

        remote = _remote(settings)
        if remote is None:
            return f"@{handle} not checked: no VIBEFORGE_SANDBOX_ADMIN_TOKEN for {base_url}"
        with remote:
            try:
                remote.user_token(handle)  # a username, or its `.test` handle
            except SandboxError as exc:
                if "404" in str(exc):
                    return will_create
                raise
        return None

    def lookup(client: XClient | BlueskyClient) -> None:
        client.account(handle=handle)  # NotFound when the platform has no such account

    if kind == "bluesky":
        return _bluesky_lookup(settings, lookup, f"@{handle}")
    return _x_lookup(settings, lookup, f"@{handle}")


def _remote(settings: Settings) -> RemoteSandbox | None:
    from vibeforge.sandbox.remote import RemoteSandbox

    token = settings.secrets.sandbox_admin_token
    if token is None or settings.platform.base_url is None:
        return None
    return RemoteSandbox.connect(settings.platform.base_url, token.get_secret_value())


def _read_one(client: BlueskyClient, kind: str, uri: str) -> None:
    """Read one post of a list or feed: NotFound when Bluesky has no such list or feed."""
    from vibeforge.domain import Timeline, TimelineKind

    source = Timeline(name="check", kind=TimelineKind(kind), source=uri)
    client.timeline(source=source, max_posts=1)


def _x_lookup(settings: Settings, call: Callable[[XClient], str | None], what: str) -> str | None:
    """Ask X (one priced read); NotFound is an error, any other failure a note."""
    from vibeforge.loop.build import platform_context
    from vibeforge.platforms.registry import platform_factory
    from vibeforge.platforms.x import XClient

    kind = settings.platform.kind
    try:
        client = platform_factory(kind)(platform_context(settings, home=settings.home, handles=()))
    except ConfigError as exc:
        return f"{what} not checked on {kind}: {exc}"
    if not isinstance(client, XClient):  # a platform kind without X's lookups
        return f"{what} not checked: {kind} cannot look it up"
    return _ask(client, call, what, where=kind)


def _bluesky_lookup(
    settings: Settings, call: Callable[[BlueskyClient], str | None], what: str
) -> str | None:
    """Ask Bluesky (a free read): with the bots' app passwords when configured, else
    anonymously (Bluesky's public AppView, or the sandbox's XRPC face); NotFound is an error,
    any other failure (no network, a refused login, a rate limit) a note."""
    from vibeforge.loop.build import platform_context
    from vibeforge.platforms.bluesky import BlueskyClient
    from vibeforge.platforms.registry import platform_factory

    if settings.platform.kind == "sandbox":  # an external sandbox: its XRPC face, anonymously
        base = str(settings.platform.base_url).rstrip("/")
        client = BlueskyClient(base_url=f"{base}/xrpc", on_rate_limit="raise", retries=1)
        where = "the sandbox"
    else:
        try:
            built = platform_factory("bluesky")(
                platform_context(settings, home=settings.home, handles=())
            )
        except ConfigError as exc:
            return f"{what} not checked on bluesky: {exc}"
        assert isinstance(built, BlueskyClient)
        client, where = built, "bluesky"
        client.on_rate_limit = "raise"  # a command waits for no rate limit: it says so
    return _ask(client, call, what, where=where)


def _ask(client: Any, call: Callable[[Any], str | None], what: str, *, where: str) -> str | None:
    """One lookup: NotFound is an error, any other platform failure a note."""
    from vibeforge.platforms.base import NotFound, PlatformError

    try:
        return call(client)
    except NotFound as exc:
        raise ConfigError(f"{where} has no {what} ({exc})") from None
    except PlatformError as exc:
        return f"{what} not checked on {where}: {exc}"
    finally:
        client.close()
