"""Scrub evaluation: generated posts with planted PII, and recall/precision per kind.

Posts are built from tweet-like templates around a niche (airlines, phones, sports), with
distractors a scrubber must leave alone (flight numbers, prices, times, years, brand names),
and planted values from Faker (en_US and en_GB): person names, @handles, emails, phone numbers
and URLs. The planted offsets are known, so scoring is exact:

- recall(kind): planted values whose characters are all covered by replaced spans (of any kind:
  what matters is that the value is gone). For names only the name's words count, not titles
  such as "Dr." or "MD". `typed_recall` also requires the right kind.
- precision(kind): replaced spans of that kind that overlap some planted value.
- leaks(kind): planted values still present verbatim in the scrubbed text.

Faker is a dev dependency (the `dev` extra); it is imported only when posts are generated.
"""

from __future__ import annotations

import random
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from vibeforge.errors import VibeforgeError
from vibeforge.privacy.patterns import PLACEHOLDERS, STRUCTURED, Span
from vibeforge.privacy.scrub import Scrubber

EVAL_KINDS = (*STRUCTURED, "person")
_TITLES = {
    "dr",
    "mr",
    "mrs",
    "ms",
    "miss",
    "jr",
    "sr",
    "md",
    "dds",
    "phd",
    "dvm",
    "ii",
    "iii",
    "iv",
}
_SLOT = re.compile(r"\{(\w+)\}")

# slots: {person} {first} {handle} {email} {phone} {url}; filler slots are distractors
TEMPLATES = (
    "{handle} my flight {flight} is delayed again, gate changed to {gate}. thanks for nothing",
    "Just met {person} at the lounge, says the {brand} update drops {day}. Wild.",
    "shoutout to {person} from the {brand} store for fixing my screen in {minutes} minutes!",
    "{person} scored twice tonight, {score} final. What a game",
    "DM me or email {email} if you want the deal, ${price} only until {day}",
    "Customer service? Call {phone} and wait {minutes} minutes. Classic {brand}.",
    "read this thread {url} before you buy the new {brand} phone",
    "{handle} {handle2} who else is watching the match at {time}?",
    "my sister {first} works for {brand} and even she says the app is broken lol",
    "booking help: {phone} (ask for {person}), or write to {email}",
    "new post up: {url} — {brand} vs the rest, {year} edition",
    "lol {handle} you were right about {brand}, refund of ${price} took {days} days",
    "Thanks {first}! Seat {seat} was perfect on flight {flight}.",
    "{person} just announced the {brand} keynote for {day} at {time}",
    "anyone know why {brand} charged me ${price} twice? their line {phone} just rings",
    "contact {email} or {handle} for the {year} season tickets, details {url}",
    "had coffee with {person} and {person2} before boarding at gate {gate}",
    "{first} said {brand} stock is up {percent}% since {year}. I don't believe it",
    "ugh. {url} is down again. {handle} fix it please",
    "Congrats to coach {person} on win number {count}!",
)
_FILLERS: dict[str, Any] = {
    "brand": ["Delta", "United", "Apple", "iPhone", "Tesla", "Pfizer", "Lakers", "JetBlue"],
    "flight": lambda r: f"{r.choice(['DL', 'UA', 'AA', 'B6'])}{r.randint(100, 2999)}",
    "gate": lambda r: f"{r.choice('ABCDE')}{r.randint(1, 40)}",
    "seat": lambda r: f"{r.randint(1, 40)}{r.choice('ABCDEF')}",
    "day": ["Monday", "Friday", "tomorrow", "next week", "Sunday"],
    "time": lambda r: f"{r.randint(1, 12)}:{r.choice(['00', '15', '30', '45'])}",
    "minutes": lambda r: str(r.randint(2, 95)),
    "days": lambda r: str(r.randint(2, 60)),
    "score": lambda r: f"{r.randint(0, 130)}-{r.randint(0, 130)}",
    "price": lambda r: f"{r.randint(5, 1999)}.{r.randint(0, 99):02d}",
    "year": lambda r: str(r.randint(1990, 2026)),
    "percent": lambda r: str(r.randint(1, 300)),
    "count": lambda r: f"{r.randint(100, 1200):,}",
}


@dataclass(frozen=True, slots=True)
class Planted:
    kind: str
    value: str
    start: int
    end: int


@dataclass(frozen=True, slots=True)
class PlantedPost:
    text: str
    planted: tuple[Planted, ...]


def _faker(seed: int) -> Any:
    try:
        from faker import Faker
    except ImportError as exc:
        raise VibeforgeError(
            "the scrub evaluation needs Faker; run `pip install -e .[dev]` or `pip install faker`"
        ) from exc
    fake = Faker(["en_US", "en_GB"])
    fake.seed_instance(seed)
    return fake


def _planted_value(kind: str, fake: Any, rng: random.Random) -> str:
    if kind in ("person", "person2"):
        return str(fake.name())
    if kind == "first":
        return str(fake.first_name())
    if kind in ("handle", "handle2"):
        return "@" + str(fake.user_name())[:15]
    if kind == "email":
        return str(rng.choice([fake.email, fake.free_email, fake.company_email])())
    if kind == "phone":
        return str(fake.phone_number())
    if kind == "url":
        choice = rng.randrange(4)
        if choice == 0:
            return "https://t.co/" + "".join(
                rng.choices("abcdefghijkmnpqrstuvwxyzABCDEFGH23456789", k=10)
            )
        return str([fake.url, fake.uri, fake.domain_name][choice - 1]())
    raise ValueError(f"unknown slot {kind!r}")


def _kind_of(slot: str) -> str | None:
    base = slot.rstrip("2")
    if base == "first":
        return "person"
    return base if base in EVAL_KINDS else None


def generate_posts(n: int, *, seed: int = 0) -> list[PlantedPost]:
    """`n` posts from the templates, each with 1-3 planted values at known offsets."""
    if n < 1:
        raise ValueError(f"n ({n}) must be >= 1")
    fake = _faker(seed)
    rng = random.Random(seed)
    posts = []
    for i in range(n):
        template = TEMPLATES[i % len(TEMPLATES)]
        text, planted, pos = [], [], 0
        for piece_start, match in _pieces(template):
            literal = template[piece_start : match.start()] if match else template[piece_start:]
            text.append(literal)
            pos += len(literal)
            if match is None:
                break
            slot = match.group(1)
            kind = _kind_of(slot)
            filler = _FILLERS.get(slot)
            if kind is not None:
                value = _planted_value(slot, fake, rng)
                planted.append(Planted(kind, value, pos, pos + len(value)))
            elif callable(filler):
                value = filler(rng)
            else:
                assert filler is not None, f"template slot {slot!r} has no filler"
                value = rng.choice(filler)
            text.append(value)
            pos += len(value)
        posts.append(PlantedPost("".join(text), tuple(planted)))
    return posts


def _pieces(template: str) -> list[tuple[int, re.Match[str] | None]]:
    out: list[tuple[int, re.Match[str] | None]] = []
    start = 0
    for match in _SLOT.finditer(template):
        out.append((start, match))
        start = match.end()
    out.append((start, None))
    return out


def _needed(p: Planted, text: str) -> list[tuple[int, int]]:
    """The character ranges of a planted value that must be covered to count as removed."""
    if p.kind != "person":
        return [(p.start, p.end)]
    ranges = []
    for m in re.finditer(r"[\w'-]+", text[p.start : p.end]):
        if m.group().lower().strip(".") not in _TITLES and len(m.group()) > 1:
            ranges.append((p.start + m.start(), p.start + m.end()))
    return ranges


def _covered(a: int, b: int, spans: Sequence[Span], kind: str | None = None) -> bool:
    pos = a
    for s in spans:
        if s.start <= pos < s.end and (kind is None or s.kind == kind):
            pos = s.end
        if pos >= b:
            return True
    return pos >= b


def evaluate(scrubber: Scrubber, posts: Sequence[PlantedPost]) -> dict[str, Any]:
    """Recall, typed recall, precision and leaks per kind of the scrubber on planted posts."""
    texts = [p.text for p in posts]
    all_spans = scrubber.spans_many(texts)
    scrubbed = [r.text for r in scrubber.scrub_many(texts)]
    stats = {
        k: {"planted": 0, "found": 0, "typed": 0, "leaks": 0, "pred": 0, "tp": 0}
        for k in EVAL_KINDS
    }
    for post, spans, out in zip(posts, all_spans, scrubbed, strict=True):
        for p in post.planted:
            s = stats[p.kind]
            need = _needed(p, post.text)
            s["planted"] += 1
            s["found"] += all(_covered(a, b, spans) for a, b in need)
            s["typed"] += all(_covered(a, b, spans, p.kind) for a, b in need)
            s["leaks"] += _leaked(p.value, out)
        for span in spans:
            if span.kind in stats:
                stats[span.kind]["pred"] += 1
                hit = any(span.start < p.end and p.start < span.end for p in post.planted)
                stats[span.kind]["tp"] += hit
    report: dict[str, Any] = {"posts": len(posts)}
    for kind, s in stats.items():
        report[kind] = {
            "planted": s["planted"],
            "recall": _ratio(s["found"], s["planted"]),
            "typed_recall": _ratio(s["typed"], s["planted"]),
            "precision": _ratio(s["tp"], s["pred"]),
            "replaced": s["pred"],
            "leaks": s["leaks"],
        }
    return report


def _leaked(value: str, text: str) -> bool:
    if value in PLACEHOLDERS.values():
        return False
    return re.search(rf"(?<!\w){re.escape(value)}(?!\w)", text) is not None


def _ratio(a: int, b: int) -> float | None:
    return round(a / b, 4) if b else None
