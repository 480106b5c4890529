"""Emerging terms by burst detection, and time-to-capture of a trend by a bot.

Burst detection, per term (hashtag, word or two-word phrase):

    posts are cut into fixed windows of `window_s` seconds (aligned to the epoch);
    c_w = posts in window w that contain the term, n_w = posts in window w;
    the baseline is the `baseline_windows` windows before w: C = Σ c, N = Σ n;
    expected_w = n_w · (C + α) / (N + 1)      (α > 0 so that new terms have a finite baseline)
    z_w = (c_w − expected_w) / √expected_w    (a Poisson z-score)
    w is a burst window when c_w ≥ min_count, z_w ≥ min_z and c_w / expected_w ≥ min_ratio.

Consecutive burst windows of a term merge into one `Burst`. Windows without a baseline of at
least `min_baseline_posts` posts are never bursts: a term cannot "emerge" from no history.
This is the simple relative-rate detector (as in Twitter's early trend detection), not
Kleinberg's automaton: it is cheap, stateless per window and easy to check by hand.
"""

from __future__ import annotations

import bisect
import math
from collections import Counter, defaultdict
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from vibeforge.analytics.text import terms, words
from vibeforge.domain import Post


@dataclass(frozen=True, slots=True, kw_only=True)
class BurstConfig:
    window_s: float = 3600.0  # width of one time window, seconds of platform time
    baseline_windows: int = 6  # earlier windows that form a term's baseline rate
    min_count: int = 3  # posts containing the term in the window
    min_z: float = 3.0  # Poisson z-score of the window's count against the baseline
    min_ratio: float = 3.0  # window count / expected count
    min_baseline_posts: int = 5  # posts in the baseline windows, else no burst is possible
    alpha: float = 0.5  # pseudo-count of the baseline (smoothing for unseen terms)
    max_results: int = 50  # strongest bursts kept

    def __post_init__(self) -> None:
        if self.window_s <= 0:
            raise ValueError(f"window_s ({self.window_s}) must be > 0; use e.g. 3600 (one hour)")
        if self.baseline_windows < 1:
            raise ValueError(f"baseline_windows ({self.baseline_windows}) must be >= 1; use 6")
        if self.min_count < 1:
            raise ValueError(f"min_count ({self.min_count}) must be >= 1; use 3")
        if self.min_ratio < 1:
            raise ValueError(f"min_ratio ({self.min_ratio}) must be >= 1; use 3")
        if self.alpha <= 0:
            raise ValueError(f"alpha ({self.alpha}) must be > 0; use 0.5")
        if self.min_baseline_posts < 0 or self.max_results < 1:
            raise ValueError("min_baseline_posts must be >= 0 and max_results >= 1")


@dataclass(frozen=True, slots=True, kw_only=True)
class Burst:
    """A term whose rate jumped above its baseline over one or more consecutive windows."""

    term: str
    kind: str  # hashtag | term | phrase
    start: datetime  # start of the first burst window
    end: datetime  # end of the last burst window
    peak_at: datetime  # start of the window with the highest z-score
    count: int  # posts containing the term over the burst
    z: float  # the highest z-score
    ratio: float  # count / expected count at the peak
    post_ids: tuple[str, ...] = ()  # the posts containing the term during the burst


@dataclass(frozen=True, slots=True, kw_only=True)
class Topic:
    """Co-bursting terms (they burst together in largely the same posts), e.g. a hashtag
    with its words and phrases; labelled by its hashtag, else its strongest phrase or word."""

    label: str
    terms: tuple[str, ...]  # hashtags, then phrases, then words; strongest first
    start: datetime
    end: datetime
    count: int  # posts containing any of the terms during the bursts
    z: float  # the strongest member's z-score


@dataclass(frozen=True, slots=True, kw_only=True)
class TrendEvent:
    """Ground truth of a trend (the sandbox schedules these): terms that start at a time."""

    niche: str
    start: datetime
    terms: tuple[str, ...]
    label: str = ""

    @classmethod
    def from_sandbox(cls, row: dict[str, Any], *, niche: str | None = None) -> TrendEvent:
        """From a row of the sandbox's `GET /admin/trends` ({niche, at (ISO) or at_ms, text});
        `niche` renames the sandbox's niche to the vibeforge timeline that follows it."""
        if "at_ms" in row:
            start = datetime.fromtimestamp(int(row["at_ms"]) / 1000, tz=UTC)
        else:
            start = datetime.fromisoformat(str(row["at"]).replace("Z", "+00:00"))
        text = str(row["text"])
        return cls(niche=niche or str(row["niche"]), start=start, terms=(text,), label=text)


def _window(ts: datetime, width: float) -> int:
    return math.floor(ts.timestamp() / width)


def _at(index: int, width: float) -> datetime:
    return datetime.fromtimestamp(index * width, tz=UTC)


@dataclass(slots=True)
class _Run:
    kind: str
    first: int
    last: int
    peak: int
    count: int
    z: float
    ratio: float


def detect_bursts(posts: Sequence[Post], *, config: BurstConfig | None = None) -> list[Burst]:
    """Bursting terms among `posts`, strongest (highest z) first."""
    cfg = config or BurstConfig()
    if not posts:
        return []
    n: Counter[int] = Counter()
    c: dict[tuple[str, str], Counter[int]] = defaultdict(Counter)
    ids: dict[tuple[tuple[str, str], int], list[str]] = defaultdict(list)
    for post in posts:
        w = _window(post.created_at, cfg.window_s)
        n[w] += 1
        for key in terms(post.text):
            c[key][w] += 1
            ids[key, w].append(post.id)
    first = min(n)
    runs: dict[tuple[str, str], _Run] = {}
    done: list[tuple[tuple[str, str], _Run]] = []
    for key, counts in c.items():
        for w in sorted(counts):
            cw = counts[w]
            if cw < cfg.min_count:
                continue
            lo = max(first, w - cfg.baseline_windows)
            base_n = sum(n[i] for i in range(lo, w))
            if base_n < max(cfg.min_baseline_posts, 1):
                continue
            base_c = sum(counts[i] for i in range(lo, w))
            expected = n[w] * (base_c + cfg.alpha) / (base_n + 1)
            z = (cw - expected) / math.sqrt(expected)
            ratio = cw / expected
            if z < cfg.min_z or ratio < cfg.min_ratio:
                continue
            run = runs.get(key)
            if run is not None and run.last == w - 1:
                run.last = w
                run.count += cw
                if z > run.z:
                    run.z, run.ratio, run.peak = z, ratio, w
            else:
                if run is not None:
                    done.append((key, run))
                runs[key] = _Run(kind=key[0], first=w, last=w, peak=w, count=cw, z=z, ratio=ratio)
    done.extend(runs.items())
    bursts = [
        Burst(
            term=key[1],
            kind=run.kind,
            start=_at(run.first, cfg.window_s),
            end=_at(run.last + 1, cfg.window_s),
            peak_at=_at(run.peak, cfg.window_s),
            count=run.count,
            z=run.z,
            ratio=run.ratio,
            post_ids=tuple(
                i for w in range(run.first, run.last + 1) for i in ids.get((key, w), ())
            ),
        )
        for key, run in done
    ]
    bursts.sort(key=lambda b: (-b.z, b.start, b.term))
    return bursts[: cfg.max_results]


_KIND_ORDER = {"hashtag": 0, "phrase": 1, "term": 2}


def group_topics(bursts: Sequence[Burst], *, min_overlap: float = 0.5) -> list[Topic]:
    """Merge bursts that overlap in time and share posts (Jaccard >= `min_overlap`) into topics."""
    if not 0 < min_overlap <= 1:
        raise ValueError(f"min_overlap ({min_overlap}) must be in (0, 1]; use 0.5")
    parent = list(range(len(bursts)))

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    sets = [set(b.post_ids) for b in bursts]
    for i, a in enumerate(bursts):
        for j in range(i + 1, len(bursts)):
            b = bursts[j]
            if a.start >= b.end or b.start >= a.end or not sets[i] or not sets[j]:
                continue
            if len(sets[i] & sets[j]) / len(sets[i] | sets[j]) >= min_overlap:
                parent[find(j)] = find(i)
    groups: dict[int, list[int]] = defaultdict(list)
    for i in range(len(bursts)):
        groups[find(i)].append(i)
    out = []
    for members in groups.values():
        ms = sorted((bursts[i] for i in members), key=lambda b: (_KIND_ORDER.get(b.kind, 3), -b.z))
        out.append(
            Topic(
                label=ms[0].term,
                terms=tuple(b.term for b in ms),
                start=min(b.start for b in ms),
                end=max(b.end for b in ms),
                count=len(set().union(*(sets[i] for i in members))),
                z=max(b.z for b in ms),
            )
        )
    out.sort(key=lambda t: (-t.z, t.start, t.label))
    return out


@dataclass(frozen=True, slots=True, kw_only=True)
class Capture:
    """When a trend showed up in a timeline and in a bot's outputs (None: not yet)."""

    terms: tuple[str, ...]
    event_start: datetime
    timeline_first_at: datetime | None
    bot_first_at: datetime | None

    @property
    def lag_s(self) -> float | None:
        """Time-to-capture: from the trend's appearance in the timeline to the bot's outputs."""
        if self.timeline_first_at is None or self.bot_first_at is None:
            return None
        return (self.bot_first_at - self.timeline_first_at).total_seconds()

    @property
    def since_event_s(self) -> float | None:
        """From the event's start to the bot's first post carrying it."""
        if self.bot_first_at is None:
            return None
        return (self.bot_first_at - self.event_start).total_seconds()


class PostIndex:
    """Posts tokenised once, sorted by time, for repeated trend look-ups."""

    def __init__(self, posts: Sequence[Post]) -> None:
        rows = sorted((p.created_at, [t.lstrip("#") for t in words(p.text)]) for p in posts)
        self._times = [t for t, _ in rows]
        self._seqs = [seq for _, seq in rows]
        self._vocab = [frozenset(seq) for seq in self._seqs]

    def times_mentioning(self, terms: Sequence[str], *, after: datetime) -> Iterator[datetime]:
        """Creation times, in order, of posts at or after `after` that mention any term."""
        targets = [tuple(t.lstrip("#") for t in words(term)) for term in terms]
        targets = [t for t in targets if t]
        for i in range(bisect.bisect_left(self._times, after), len(self._times)):
            seq, vocab = self._seqs[i], self._vocab[i]
            for target in targets:
                if not set(target) <= vocab:
                    continue
                n = len(target)
                if any(tuple(seq[j : j + n]) == target for j in range(len(seq) - n + 1)):
                    yield self._times[i]
                    break


def first_appearance(
    posts: Sequence[Post] | PostIndex,
    *,
    terms: Sequence[str],
    after: datetime,
    min_posts: int = 1,
) -> datetime | None:
    """When the `min_posts`-th post at or after `after` mentioning any of `terms` appeared."""
    if min_posts < 1:
        raise ValueError(f"min_posts ({min_posts}) must be >= 1")
    index = posts if isinstance(posts, PostIndex) else PostIndex(posts)
    for k, ts in enumerate(index.times_mentioning(terms, after=after), start=1):
        if k == min_posts:
            return ts
    return None


def time_to_capture(
    *,
    event_start: datetime,
    terms: Sequence[str],
    timeline_posts: Sequence[Post] | PostIndex,
    bot_posts: Sequence[Post] | PostIndex,
    min_timeline_posts: int = 1,
    min_bot_posts: int = 1,
) -> Capture:
    """Lag between a trend appearing in a timeline and in a bot's outputs.

    The trend appears in the timeline with its `min_timeline_posts`-th post mentioning one of
    `terms` at or after `event_start`; the bot captures it with its `min_bot_posts`-th such post
    at or after that moment (posts before the trend reached the timeline do not count).
    """
    if not terms:
        raise ValueError("time_to_capture needs at least one term of the trend")
    seen = first_appearance(
        timeline_posts, terms=terms, after=event_start, min_posts=min_timeline_posts
    )
    captured = None
    if seen is not None:
        captured = first_appearance(bot_posts, terms=terms, after=seen, min_posts=min_bot_posts)
    return Capture(
        terms=tuple(terms),
        event_start=event_start,
        timeline_first_at=seen,
        bot_first_at=captured,
    )


def captures_for_topics(
    topics: Sequence[Topic], *, timeline_posts: Sequence[Post], bot_posts: Sequence[Post]
) -> list[Capture]:
    """Time-to-capture of each detected timeline topic (its label), from the topic's start."""
    timeline, bot = PostIndex(timeline_posts), PostIndex(bot_posts)
    return [
        time_to_capture(
            event_start=t.start,
            terms=[t.label],
            timeline_posts=timeline,
            bot_posts=bot,
        )
        for t in topics
    ]
