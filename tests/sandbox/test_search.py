"""The search query language on its own: what matches which post, and what X refuses."""

from __future__ import annotations

import pytest

from vibeforge.sandbox.problems import ApiError
from vibeforge.sandbox.search import doc, parse

POSTS = {
    "link": doc(
        text="Delayed again at JFK, refund form https://example.com/r #travel",
        author="flyer_daily1",
        reply_to_author=None,
        reply_to=None,
        quote_of=None,
        post_id=1,
    ),
    "reply": doc(
        text="@flyer_daily1 don't they always? Same flight last week",
        author="Airline_Fan2",
        reply_to_author="flyer_daily1",
        reply_to=1,
        quote_of=None,
        post_id=2,
    ),
    "quote": doc(
        text="The lounge coffee is excellent",
        author="airline_fan2",
        reply_to_author=None,
        reply_to=None,
        quote_of=1,
        post_id=3,
    ),
}


def matching(query: str) -> set[str]:
    q = parse(query)
    return {name for name, d in POSTS.items() if q.match(d)}


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("delayed", {"link"}),
        ("DELAYED jfk", {"link"}),  # terms side by side: all of them, any case
        ("delay", set()),  # whole tokens, not substrings
        ('"same flight"', {"reply"}),
        ('"flight same"', set()),
        ("don't", {"reply"}),  # a keyword of several tokens is a phrase of them
        ("from:airline_fan2", {"reply", "quote"}),  # usernames match in any case
        ("from:@flyer_daily1 OR lounge", {"link", "quote"}),
        ("to:flyer_daily1", {"reply"}),
        ("from:airline_fan2 -is:reply", {"quote"}),
        ("from:airline_fan2 is:quote", {"quote"}),
        ("from:airline_fan2 -is:retweet", {"reply", "quote"}),
        ("delayed has:links", {"link"}),
        ("(flight OR coffee) -has:links", {"reply", "quote"}),
        ("-(flight OR coffee) from:flyer_daily1", {"link"}),
        ("#travel", {"link"}),
        ("#Travel lang:en", {"link"}),
        ("coffee lang:ja", set()),
        ("@flyer_daily1", {"reply"}),
        ("from:airline_fan2 has:mentions", {"reply"}),
        ("conversation_id:1", {"link", "reply"}),
    ],
)
def test_what_each_query_matches(query: str, expected: set[str]) -> None:
    assert matching(query) == expected


def test_from_names_the_authors_to_prefilter() -> None:
    assert parse("from:A_b lounge").authors == frozenset({"a_b"})
    assert parse("from:a OR from:b").authors == frozenset({"a", "b"})
    assert parse("from:a OR lounge").authors is None
    assert parse("-from:a lounge").authors is None


@pytest.mark.parametrize(
    "query",
    [
        "-flight",  # only a negation
        "is:reply",  # is:, has:, lang: narrow other terms
        "has:links lang:en",
        '"unbalanced',
        "(flight OR coffee",
        "flight OR",
        "is:nonsense flight",
        "has:feelings flight",
        "mood:happy flight",
        "from:not-a-handle flight",
        "...",
        "x" * 4097,
    ],
)
def test_what_x_refuses(query: str) -> None:
    with pytest.raises(ApiError) as refused:
        parse(query)
    assert refused.value.status == 400
    assert refused.value.body()["parameter"] == "query"
