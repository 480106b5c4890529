"""The scrub evaluation: >= 500 generated posts with planted PII, recall and precision per kind."""

from __future__ import annotations

import pytest

from vibeforge.privacy.evaluation import EVAL_KINDS, evaluate, generate_posts
from vibeforge.privacy.patterns import STRUCTURED
from vibeforge.privacy.scrub import Scrubber


@pytest.fixture(scope="module")
def posts():  # type: ignore[no-untyped-def]
    return generate_posts(600, seed=7)


def test_generated_posts_plant_every_kind_at_known_offsets(posts) -> None:  # type: ignore[no-untyped-def]
    assert len(posts) == 600
    kinds = {p.kind for post in posts for p in post.planted}
    assert kinds == set(EVAL_KINDS)
    for post in posts:
        for p in post.planted:
            assert post.text[p.start : p.end] == p.value
    assert generate_posts(5, seed=7) == posts[:5]  # seeded, reproducible
    assert generate_posts(5, seed=8) != posts[:5]


def test_full_scrubber_meets_the_recall_targets(ner_scrubber: Scrubber, posts) -> None:  # type: ignore[no-untyped-def]
    report = evaluate(ner_scrubber, posts)
    print(report)  # precision is reported, not asserted beyond a sanity floor
    for kind in STRUCTURED:
        assert report[kind]["planted"] >= 50
        assert report[kind]["recall"] >= 0.95, (kind, report[kind])
        assert report[kind]["leaks"] == 0, (kind, report[kind])
    assert report["person"]["planted"] >= 200
    assert report["person"]["recall"] >= 0.95, report["person"]  # 1.00 measured (issue: 0.85)
    assert report["person"]["precision"] >= 0.8, report["person"]  # 0.89 measured


def test_regex_only_mode_catches_structured_kinds_but_no_names(
    regex_scrubber: Scrubber,
    posts,  # type: ignore[no-untyped-def]
) -> None:
    report = evaluate(regex_scrubber, posts)
    for kind in STRUCTURED:
        assert report[kind]["recall"] >= 0.95, (kind, report[kind])
        assert report[kind]["precision"] >= 0.95, (kind, report[kind])
    assert report["person"]["recall"] < 0.1
    assert report["person"]["leaks"] > 0  # so the leak counter can fail
