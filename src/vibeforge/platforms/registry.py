"""Platforms by name: `platform.kind` in vibeforge.yaml picks a registered factory.

A factory builds a `Platform` from a `PlatformContext`; beside it each kind files its
`PlatformPolicy` (what the platform's rules ask of automated accounts, which the loop
enforces). The registry knows no platform itself:
the kinds vibeforge ships ("x", "sandbox") are registered in one place that imports both them
and this module (`vibeforge.loop.platform_kinds`), so this package never imports a client, the
sandbox or the loop, and a new platform is one more `register_platform` call.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from vibeforge.errors import ConfigError
from vibeforge.platforms.base import Platform
from vibeforge.platforms.ledger import CallLedger
from vibeforge.platforms.policy import DEFAULT_POLICY, PlatformPolicy


@dataclass(frozen=True, kw_only=True)
class PlatformContext:
    """What a platform is built from, in the process that uses it.

    Everything but the ledger is plain values, so a context travels to other processes (Ray
    workers build their own platform from it) and each process adds its ledger.
    """

    home: Path  # where per-account credentials live (tokens/)
    handles: tuple[str, ...] = ()  # the bots' accounts: the ones that post
    base_url: str | None = None  # None: the kind's own default
    # the kind's secrets by name without its prefix: settings' `x_bearer_token` is "bearer_token"
    secrets: Mapping[str, str] = field(default_factory=dict, repr=False)
    # bearer user tokens by handle, where the platform hands them out directly (the sandbox)
    user_tokens: Mapping[str, str] = field(default_factory=dict, repr=False)
    ledger: CallLedger | None = None  # where calls are counted; None: a fresh in-memory one


PlatformFactory = Callable[[PlatformContext], Platform]
_REGISTRY: dict[str, PlatformFactory] = {}
_POLICIES: dict[str, PlatformPolicy] = {}


def register_platform(
    name: str, factory: PlatformFactory, *, policy: PlatformPolicy = DEFAULT_POLICY
) -> None:
    """Make a platform buildable by name (`platform.kind` in vibeforge.yaml), under `policy`."""
    _REGISTRY[name] = factory
    _POLICIES[name] = policy


def known_platforms() -> list[str]:
    return sorted(_REGISTRY)


def platform_factory(name: str) -> PlatformFactory:
    """The factory registered as `name`; ConfigError listing the known kinds otherwise."""
    try:
        return _REGISTRY[name]
    except KeyError:
        known = ", ".join(known_platforms()) or "none registered"
        raise ConfigError(f"unknown platform {name!r} (known: {known})") from None


def platform_policy(name: str) -> PlatformPolicy:
    """The policy registered with platform kind `name`; ConfigError for an unknown kind."""
    platform_factory(name)
    return _POLICIES[name]
