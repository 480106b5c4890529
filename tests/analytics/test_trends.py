"""Burst detection and time-to-capture on constructed timelines with known answers."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta

import pytest

from vibeforge.analytics.text import mentions, terms
from vibeforge.analytics.trends import BurstConfig, detect_bursts, group_topics, time_to_capture
from vibeforge.domain import Post

T0 = datetime(2026, 3, 1, tzinfo=UTC)  # aligned to the hour, so windows start at T0 + k h
BACKGROUND = [
    "flight delayed again at the gate",
    "great crew on my flight today",
    "lost luggage and a long queue",
    "window seat views over the clouds",
    "boarding took forever this morning",
]


def _post(i: int, at: datetime, text: str) -> Post:
    return Post(id=str(i), text=text, author_id=f"u{i % 7}", created_at=at)


def _timeline(*, hours: int = 8, per_hour: int = 10, burst_from: int = 6, burst_n: int = 5):
    posts = []
    for h in range(hours):
        for k in range(per_hour):
            at = T0 + timedelta(hours=h, minutes=5 * k)
            text = BACKGROUND[(h + k) % len(BACKGROUND)]
            if h >= burst_from and k < burst_n:
                text = "pilot strike grounds everything #strike"
            posts.append(_post(len(posts), at, text))
    return posts


def test_terms_are_hashtags_words_and_phrases() -> None:
    got = terms("The PILOT strike! #Strike https://t.co/x @user 2026")
    assert ("hashtag", "#strike") in got
    assert ("term", "pilot") in got and ("term", "strike") in got
    assert ("phrase", "pilot strike") in got
    assert not any(t in {"the", "https", "user", "2026"} for _, t in got)


def test_a_term_that_jumps_is_a_burst_with_the_known_start_count_and_z() -> None:
    bursts = detect_bursts(_timeline(), config=BurstConfig(window_s=3600))
    found = {(b.kind, b.term): b for b in bursts}
    tag = found[("hashtag", "#strike")]
    assert tag.start == T0 + timedelta(hours=6)
    assert tag.end == T0 + timedelta(hours=8)  # hours 6 and 7 both burst, merged
    assert tag.peak_at == T0 + timedelta(hours=6)
    assert tag.count == 10
    expected = 10 * (0 + 0.5) / (60 + 1)  # six baseline windows of 10 posts, none with the tag
    assert tag.z == pytest.approx((5 - expected) / math.sqrt(expected))
    assert tag.ratio == pytest.approx(5 / expected)
    assert ("phrase", "pilot strike") in found and ("term", "strike") in found
    # steady background vocabulary never bursts
    assert not {"flight", "luggage", "gate", "boarding"} & {b.term for b in bursts}


def test_co_bursting_terms_group_into_one_topic_and_others_stay_apart() -> None:
    posts = _timeline()
    # in the same hours, three other posts an hour carry an unrelated hashtag
    for h in (6, 7):
        for k in range(3):
            at = T0 + timedelta(hours=h, minutes=50 + k)
            posts.append(_post(len(posts), at, "tarmac picnic #snackgate"))
    bursts = detect_bursts(posts)
    strike = next(b for b in bursts if b.term == "#strike")
    assert len(strike.post_ids) == 10 and all(
        "#strike" in posts[int(i)].text for i in strike.post_ids
    )
    topics = {t.label: t for t in group_topics(bursts)}
    assert set(topics) == {"#strike", "#snackgate"}
    big = topics["#strike"]
    assert big.terms[0] == "#strike" and big.terms[1] in {
        "pilot strike",
        "grounds everything",
        "strike grounds",
    }
    assert set(big.terms) == {
        "#strike",
        "pilot",
        "strike",
        "grounds",
        "everything",
        "pilot strike",
        "strike grounds",
        "grounds everything",
    }
    assert big.count == 10 and big.start == T0 + timedelta(hours=6)
    assert set(topics["#snackgate"].terms) == {"#snackgate", "tarmac", "picnic", "tarmac picnic"}
    with pytest.raises(ValueError, match=r"use 0\.5"):
        group_topics(bursts, min_overlap=0)


def test_no_burst_without_history_or_below_min_count() -> None:
    # the term is there from the first window: no baseline, so it never "emerges"
    assert not [b for b in detect_bursts(_timeline(burst_from=0)) if b.term == "#strike"]
    # two mentions an hour stay below min_count=3
    assert not detect_bursts(_timeline(burst_n=2), config=BurstConfig(min_count=3))
    assert detect_bursts([]) == []


def test_a_gradual_rise_is_not_a_burst_when_the_ratio_is_too_low() -> None:
    posts = []
    for h in range(8):
        for k in range(10):
            text = "#strike again" if k < 4 + (h == 7) else BACKGROUND[k % 5]
            posts.append(_post(len(posts), T0 + timedelta(hours=h, minutes=k), text))
    assert not [b for b in detect_bursts(posts) if b.term == "#strike"]


@pytest.mark.parametrize(
    ("kwargs", "fix"),
    [
        ({"window_s": 0}, "use e.g. 3600"),
        ({"baseline_windows": 0}, "use 6"),
        ({"min_ratio": 0.5}, "use 3"),
        ({"alpha": 0}, "use 0.5"),
    ],
)
def test_config_rejects_bad_values_with_the_fix(kwargs: dict, fix: str) -> None:
    with pytest.raises(ValueError, match=fix):
        BurstConfig(**kwargs)


def test_mentions_matches_words_phrases_and_hashtags() -> None:
    assert mentions("Huge #PilotStrike today", "#pilotstrike")
    assert mentions("the pilot strike goes on", "Pilot Strike")
    assert mentions("#strike!", "strike")
    assert not mentions("strikes everywhere", "strike")
    assert not mentions("pilot on strike", "pilot strike")


def test_time_to_capture_is_the_lag_from_timeline_to_bot() -> None:
    start = T0 + timedelta(hours=2)
    timeline = [
        _post(1, start - timedelta(hours=1), "an old strike story"),  # before the event
        _post(2, start + timedelta(minutes=20), "the pilot strike begins"),
        _post(3, start + timedelta(minutes=50), "#strike day two"),
        _post(4, start + timedelta(minutes=5), "nothing to see"),
    ]
    bot = [
        _post(10, start - timedelta(minutes=30), "strike? what strike"),  # before: ignored
        _post(11, start + timedelta(hours=1), "lovely skies today"),
        _post(12, start + timedelta(hours=3), "stuck again thanks to the #strike"),
        _post(13, start + timedelta(hours=4), "strike strike strike"),
    ]
    cap = time_to_capture(
        event_start=start, terms=["strike"], timeline_posts=timeline, bot_posts=bot
    )
    assert cap.timeline_first_at == start + timedelta(minutes=20)
    assert cap.bot_first_at == start + timedelta(hours=3)
    assert cap.lag_s == pytest.approx(2 * 3600 + 40 * 60)
    assert cap.since_event_s == pytest.approx(3 * 3600)
    two = time_to_capture(
        event_start=start, terms=["strike"], timeline_posts=timeline, bot_posts=bot, min_bot_posts=2
    )
    assert two.bot_first_at == start + timedelta(hours=4)
    missed = time_to_capture(
        event_start=start, terms=["lockout"], timeline_posts=timeline, bot_posts=bot
    )
    assert missed.timeline_first_at is None and missed.lag_s is None
    with pytest.raises(ValueError, match="at least one term"):
        time_to_capture(event_start=start, terms=[], timeline_posts=timeline, bot_posts=bot)


def test_trend_event_from_a_sandbox_admin_row() -> None:
    from vibeforge.analytics.trends import TrendEvent

    row = {"id": 1, "niche": "airline", "at_ms": 1_772_323_200_000, "text": "strike", "strength": 1}
    event = TrendEvent.from_sandbox(row, niche="airlines")
    assert event == TrendEvent(
        niche="airlines", start=datetime(2026, 3, 1, tzinfo=UTC), terms=("strike",), label="strike"
    )
    assert TrendEvent.from_sandbox(row).niche == "airline"
    listed = {"niche": "airline", "at": "2026-03-01T00:00:00.000Z", "text": "strike"}
    assert TrendEvent.from_sandbox(listed, niche="airlines") == event
