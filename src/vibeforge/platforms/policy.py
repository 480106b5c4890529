"""What a platform's rules ask of automated accounts, as data each platform kind registers.

A `PlatformPolicy` is plain values (no I/O): `register_platform(name, factory, policy=...)`
files it beside the kind's factory, the loop enforces it (`vibeforge.loop.policy`: the AI
label on every post, the fleet-wide near-duplicate guard, replies through the approval queue,
timeline content kept out of training) and `vibeforge doctor` prints what it leaves to a
person (`account_setup`).

X's developer guidelines (automation rules, Developer Agreement's restricted uses): an
automated account carries the "Automated" label naming the account that runs it; no automated
likes, follows or direct messages; no identical or substantially similar content across
several accounts; AI-generated replies only with a person's approval; X content must not train
models.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True, kw_only=True)
class PlatformPolicy:
    name: str  # the platform kind it belongs to
    # every post carries the platform's AI-generated mark (X: `made_with_ai`; Bluesky: the
    # `bot` self-label); the outbox passes it to each publish
    ai_label: bool = True
    ai_label_how: str = "made_with_ai on every post"  # how the mark is set, for people
    # no post whose embedding cosine with anything any bot of the fleet posted in the last
    # `fleet_duplicate_days` exceeds this; None: no such rule
    fleet_duplicate_cosine: float | None = 0.9
    fleet_duplicate_days: float = 7.0
    # replies to (and quotes of) other people's posts wait for a person (the approval queue)
    replies_need_approval: bool = False
    # whether the timeline's posts may train the bots (SFT, reward-model labels) unless the
    # loop config says otherwise (`learn_from_timeline`)
    learn_from_timeline: bool = True
    why_no_timeline_learning: str = ""  # the rule that forbids it, when it is forbidden
    # automated actions the loop must never take (it takes none of them today)
    never_automated: tuple[str, ...] = ()
    # what each bot account must have set by hand before it posts (`vibeforge doctor`)
    account_setup: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        c = self.fleet_duplicate_cosine
        if c is not None and not 0 < c <= 1:
            raise ValueError(
                f"fleet_duplicate_cosine ({c}) must be in (0, 1], e.g. 0.9; None: no such rule"
            )
        if self.fleet_duplicate_days <= 0:
            raise ValueError(
                f"fleet_duplicate_days ({self.fleet_duplicate_days}) must be > 0, e.g. 7"
            )
        if not self.learn_from_timeline and not self.why_no_timeline_learning:
            raise ValueError(f"policy {self.name}: say why timeline learning is off")

    def rules(self) -> list[str]:
        """The rules the loop enforces under this policy, one line each, for people."""
        lines = []
        if self.ai_label:
            lines.append(f"every post is marked AI-generated ({self.ai_label_how})")
        if self.fleet_duplicate_cosine is not None:
            lines.append(
                f"no post closer than cosine {self.fleet_duplicate_cosine:g} to anything a bot "
                f"of the fleet posted in the last {self.fleet_duplicate_days:g} days "
                "(the act step drops it as 'fleet_duplicate')"
            )
        if self.replies_need_approval:
            lines.append(
                "replies to and quotes of other people's posts wait for a person "
                "('vibeforge approvals')"
            )
        if self.learn_from_timeline:
            lines.append("the bots learn from the timelines they follow and their own posts")
        else:
            lines.append(
                f"the bots learn from their own posts' engagement only: "
                f"{self.why_no_timeline_learning} (opt in with loop.learn_from_timeline: true)"
            )
        if self.never_automated:
            lines.append("never automated: " + ", ".join(self.never_automated))
        return lines


# the embedded sandbox: the same guards as the real platforms, so a fleet grown there behaves
DEFAULT_POLICY = PlatformPolicy(name="default")
SANDBOX_POLICY = PlatformPolicy(name="sandbox")

X_POLICY = PlatformPolicy(
    name="x",
    ai_label_how="made_with_ai on every POST /2/tweets",
    replies_need_approval=True,
    learn_from_timeline=False,
    why_no_timeline_learning=("X's Developer Agreement forbids using X content to train models"),
    never_automated=("likes", "follows", "direct messages"),
    account_setup=(
        "the 'Automated' label (Settings > Your account > Account information > Automation), "
        "naming the X account of the person who runs the bot as its managing account",
        "a bio that says the account is an automated, AI-written account and who runs it",
        "a developer App whose use case describes the bots, and its OAuth 2.0 user token "
        "for this account ('vibeforge auth x HANDLE')",
        "no other account of the fleet posting the same or substantially similar content",
    ),
)

BLUESKY_POLICY = PlatformPolicy(
    name="bluesky",
    ai_label_how="the 'bot' self-label on the profile and every post",
    account_setup=(
        "a bio that says the account is an automated, AI-written account and who runs it",
        "an app password for the loop (VIBEFORGE_BLUESKY_APP_PASSWORDS), not the main password",
    ),
)
