"""`vibeforge doctor`: what the configured platform's rules ask, from its registered policy."""

from __future__ import annotations

import typer
from rich.markup import escape

from vibeforge.cli.common import console, state


def doctor(ctx: typer.Context) -> None:
    """Say what each bot account must have set by hand on the configured platform, and which
    of the platform's rules the loop enforces (its registered policy)."""
    from vibeforge.loop import platform_kinds  # noqa: F401  (registers the platform kinds)
    from vibeforge.platforms.registry import platform_policy

    settings = state(ctx).settings()
    kind = settings.platform.registered_kind
    policy = platform_policy(kind)

    def say(line: str) -> None:
        console.print(escape(line), highlight=False, soft_wrap=True)

    say(f"platform {kind}")
    accounts = [f"@{b.account.lstrip('@')}" for b in settings.bots if b.account]
    if policy.account_setup:
        who = ", ".join(accounts) if accounts else "each bot account"
        say(f"set by hand on {who} before the first post:")
        for item in policy.account_setup:
            say(f"  - {item}")
    else:
        say("nothing to set by hand on the accounts")
    say("the loop enforces:")
    for rule in policy.rules():
        say(f"  - {rule}")
    loop = settings.loop
    overrides = []
    if loop.learn_from_timeline is not None and loop.learn_from_timeline != (
        policy.learn_from_timeline
    ):
        on = "learn" if loop.learn_from_timeline else "do not learn"
        note = f": {policy.why_no_timeline_learning}" if loop.learn_from_timeline else ""
        overrides.append(f"loop.learn_from_timeline: the bots {on} from the timeline{note}")
    if loop.fleet_duplicate_cosine is not None:
        overrides.append(f"loop.fleet_duplicate_cosine: {loop.fleet_duplicate_cosine:g}")
    if loop.fleet_duplicate_days is not None:
        overrides.append(f"loop.fleet_duplicate_days: {loop.fleet_duplicate_days:g}")
    if overrides:
        say("vibeforge.yaml overrides:")
        for line in overrides:
            say(f"  - {line}")
