"""X's official Python SDK (`xdk`, generated from X's OpenAPI spec 2.167), unchanged, against the
sandbox: every operation the sandbox serves, asserting on the models xdk parses (its pydantic
models require the current names: `repost_count`, `post_count`, problem types under api.x.com).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import requests
from xdk import Client
from xdk.posts.models import CreateRequest
from xdk.schemas import (
    CreatePostsReply,
    NotAuthorizedForFieldProblem,
    ResourceNotFoundProblem,
)
from xdk.users.models import LikePostRequest, RepostPostRequest

from vibeforge.sandbox.limits import RateLimits
from vibeforge.sandbox.server import RunningSandbox, start_sandbox

PROBLEMS = "https://api.x.com/2/problems/"


@pytest.fixture(scope="module")
def sb(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningSandbox]:
    home: Path = tmp_path_factory.mktemp("xdk")
    # followers/following allow 15 calls a window on X: scaled so paging through is not throttled
    with start_sandbox(
        home=home, world="tiny", seed=0, speed=0, limits=RateLimits(scale=100)
    ) as sandbox:
        sandbox.advance(hours=48)
        yield sandbox


def user(sb: RunningSandbox, token: str) -> Client:
    return Client(base_url=sb.base_url, access_token=token)


def app(sb: RunningSandbox) -> Client:
    return Client(base_url=sb.base_url, bearer_token=sb.app_token)


def pages(iterator: Iterator[Any], limit: int = 50) -> list[Any]:
    out = []
    for page in iterator:
        out.append(page)
        if len(out) >= limit:
            break
    return out


def humans(sb: RunningSandbox, niche: str) -> list[Any]:
    page = next(iter(app(sb).lists.get_members(sb.list_ids()[niche])))
    return list(page.data)


def liked_human_post(sb: RunningSandbox, *, least: int) -> tuple[str, int, int]:
    """A human's post with at least `least` likes shown now: (id, likes, reposts)."""
    rows = sb.world.store.all(
        "SELECT id FROM posts WHERE author_id IN (SELECT id FROM users WHERE kind = 'human') "
        "AND created_ms <= ? AND deleted = 0",
        (sb.world.now_ms(),),
    )
    shown = sb.world.metrics([r[0] for r in rows])
    for pid, m in sorted(shown.items(), key=lambda kv: -kv[1]["repost"]):
        if m["like"] >= least:
            return str(pid), m["like"], m["repost"]
    raise AssertionError(f"no post with {least} likes in the test world")


def test_post_create_read_reply_quote_and_delete(sb: RunningSandbox) -> None:
    token = sb.create_account("xdkposter", niche="airlines", followers=200)
    c = user(sb, token)
    created = c.posts.create(
        CreateRequest(text="Is the 6am flight to Boston ever on time?", made_with_ai=True)
    )
    pid = created.data.id
    assert created.data.text.startswith("Is the 6am") and created.data.edit_history_post_ids == [
        pid
    ]
    sb.advance(hours=6)

    got = c.posts.get_by_id(
        pid,
        post_fields=["public_metrics", "created_at", "author_id", "non_public_metrics"],
        expansions=["author_id"],
        user_fields=["public_metrics"],
    )
    metrics = got.data.public_metrics
    assert metrics.impression_count > 0 and metrics.repost_count >= 0  # parsed, not extra
    assert got.data.non_public_metrics["impression_count"] == metrics.impression_count
    assert got.includes.users[0].username == "xdkposter"
    assert got.includes.users[0].public_metrics.post_count == 1

    reply = c.posts.create(
        CreateRequest(text="Asking for a friend", reply=CreatePostsReply(in_reply_to_tweet_id=pid))
    )
    quote = c.posts.create(CreateRequest(text="This, every single week", quote_tweet_id=pid))
    both = app(sb).posts.get_by_ids(
        ids=[reply.data.id, quote.data.id, "1234"],
        post_fields=["referenced_posts", "non_public_metrics"],
        expansions=["referenced_posts"],
    )
    refs = {p.id: [(r.type, r.id) for r in p.referenced_posts] for p in both.data}
    assert refs == {reply.data.id: [("replied_to", pid)], quote.data.id: [("quoted", pid)]}
    assert [p.id for p in both.includes.posts] == [pid]
    # partial errors: the unknown id, and private metrics the app may not see
    kinds = {type(e) for e in both.errors}
    assert kinds == {ResourceNotFoundProblem, NotAuthorizedForFieldProblem}
    missing = next(e for e in both.errors if isinstance(e, ResourceNotFoundProblem))
    assert missing.type == PROBLEMS + "resource-not-found" and missing.resource_id == "1234"

    quoted = pages(app(sb).posts.get_quoted(pid, max_results=10))
    assert [p.id for p in quoted[0].data] == [quote.data.id]

    assert c.posts.delete(quote.data.id).data.deleted is True
    gone = app(sb).posts.get_by_id(quote.data.id)
    assert gone.data is None and gone.errors[0].type == PROBLEMS + "resource-not-found"


def test_users_by_me_id_username_and_in_bulk(sb: RunningSandbox) -> None:
    token = sb.create_account("xdkuser", niche="apple", followers=40)
    me = user(sb, token).users.get_me(user_fields=["public_metrics", "created_at"])
    assert me.data.username == "xdkuser"
    assert me.data.public_metrics.followers_count == 40
    assert me.data.public_metrics.following_count == len(humans(sb, "apple"))
    a = app(sb)
    assert a.users.get_by_username("xdkuser").data.id == me.data.id
    assert a.users.get_by_id(me.data.id).data.username == "xdkuser"
    human = humans(sb, "apple")[0]
    bulk = a.users.get_by_ids(ids=[me.data.id, human.id, "999"])
    assert [u.username for u in bulk.data] == ["xdkuser", human.username]
    assert bulk.errors[0].type == PROBLEMS + "resource-not-found"
    named = a.users.get_by_usernames(usernames=["xdkuser", "member7", "nobody_here"])
    assert [u.username for u in named.data] == ["xdkuser", "member7"]
    assert named.errors[0].value == "nobody_here"
    missing = a.users.get_by_username("nobody_here")
    assert missing.data is None and isinstance(missing.errors[0], ResourceNotFoundProblem)


def test_timelines_and_lists_page_without_overlap(sb: RunningSandbox) -> None:
    a = app(sb)
    list_id = sb.list_ids()["airlines"]
    listed = pages(a.lists.get_posts(list_id, max_results=10, post_fields=["author_id"]), limit=3)
    ids = [p.id for page in listed for p in page.data]
    assert len(listed) == 3 and len(ids) == len(set(ids)) == 30
    assert [int(i) for i in ids] == sorted((int(i) for i in ids), reverse=True)
    members = pages(a.lists.get_members(list_id, max_results=2))
    assert sum(len(p.data) for p in members) == len(humans(sb, "airlines")) == 4

    author = listed[0].data[0].author_id
    own = pages(a.users.get_posts(author, max_results=5, post_fields=["public_metrics"]), limit=2)
    assert len(own) == 2 and all(len(p.data) == 5 for p in own)
    assert all(p.public_metrics.like_count >= 0 for page in own for p in page.data)

    token = sb.create_account("xdkreader", niche="airlines")
    me = user(sb, token).users.get_me()
    home = next(iter(user(sb, token).users.get_timeline(me.data.id, max_results=20)))
    assert home.meta.result_count == 20  # the niche's humans, followed at creation


def test_liking_users_and_reposters_are_as_many_as_the_counts(sb: RunningSandbox) -> None:
    pid, likes, reposts = liked_human_post(sb, least=25)
    token = sb.create_account("xdkliker", niche="airlines")
    c = user(sb, token)
    shown = c.posts.get_by_id(pid, post_fields=["public_metrics"]).data.public_metrics
    assert (shown.like_count, shown.repost_count) == (likes, reposts)

    liked = pages(c.posts.get_liking_users(pid, max_results=10, user_fields=["public_metrics"]))
    likers = [u for page in liked for u in page.data]
    assert len(liked) >= 3  # pages of ten
    assert len(likers) == len({u.id for u in likers}) == likes
    assert all(u.username.startswith("member") for u in likers)
    reposted = pages(app(sb).posts.get_reposted_by(pid, max_results=2))
    reposters = [u for page in reposted if page.data for u in page.data]
    assert len(reposters) == len({u.id for u in reposters}) == reposts
    a_member = app(sb).users.get_by_id(likers[0].id, user_fields=["public_metrics"])
    assert a_member.data.username == likers[0].username
    assert a_member.data.public_metrics.following_count >= 1

    me = c.users.get_me().data.id
    assert c.users.like_post(me, LikePostRequest(tweet_id=pid)).data.liked is True
    again = c.users.repost_post(me, RepostPostRequest(tweet_id=pid)).data
    assert again.retweeted is True and again.rest_id == pid
    now = c.posts.get_by_id(pid, post_fields=["public_metrics"]).data.public_metrics
    assert (now.like_count, now.repost_count) == (likes + 1, reposts + 1)
    newest = next(iter(c.posts.get_liking_users(pid, max_results=5)))
    assert newest.data[0].username == "xdkliker"  # newest first
    mine = next(iter(c.users.get_liked_posts(me, max_results=5)))
    assert [p.id for p in mine.data] == [pid]
    assert c.users.unlike_post(me, pid).data.liked is False
    assert c.users.unrepost_post(me, pid).data.retweeted is False
    back = c.posts.get_by_id(pid, post_fields=["public_metrics"]).data.public_metrics
    assert (back.like_count, back.repost_count) == (likes, reposts)


def test_humans_like_and_repost_through_their_own_clients(sb: RunningSandbox) -> None:
    bot = user(sb, sb.create_account("xdkliked", niche="apple"))
    pid = bot.posts.create(CreateRequest(text="Which Mac do you run your builds on?")).data.id
    human = humans(sb, "apple")[1]
    h = user(sb, sb.user_token(human.username))
    assert h.users.like_post(human.id, LikePostRequest(tweet_id=pid)).data.liked is True
    assert h.users.repost_post(human.id, RepostPostRequest(tweet_id=pid)).data.retweeted is True
    reposters = next(iter(app(sb).posts.get_reposted_by(pid)))
    assert [u.username for u in reposters.data] == [human.username]
    likers = next(iter(bot.posts.get_liking_users(pid)))
    assert [u.id for u in likers.data] == [human.id]
    # acting as someone else is refused
    with pytest.raises(requests.HTTPError) as refused:
        bot.users.like_post(human.id, LikePostRequest(tweet_id=pid))
    assert refused.value.response.status_code == 403


def test_search_recent_with_operators_and_pages(sb: RunningSandbox) -> None:
    c = user(sb, sb.create_account("xdksearcher", niche="airlines"))
    c.posts.create(CreateRequest(text="Lost luggage again at https://example.com/bags #travel"))
    c.posts.create(CreateRequest(text="Lost luggage, found a friend"))
    c.posts.create(CreateRequest(text="Waiting at gate_b7 since noon"))
    a = app(sb)

    def search(query: str, **kw: Any) -> list[Any]:
        found = pages(a.posts.search_recent(query=query, max_results=10, **kw))
        return [p for page in found if page.data for p in page.data]

    mine = search("from:xdksearcher", post_fields=["author_id"])
    assert len(mine) == 3
    assert [p.text for p in search("gate_b7")] == ["Waiting at gate_b7 since noon"]
    assert search("gatexb7") == []  # '_' is a character, not a wildcard
    assert [p.text for p in search('"lost luggage" has:links')] == [
        "Lost luggage again at https://example.com/bags #travel"
    ]
    assert [p.text for p in search("from:xdksearcher -has:links -is:retweet luggage")] == [
        "Lost luggage, found a friend"
    ]
    assert len(search("from:xdksearcher lang:en")) == 3
    assert search("from:xdksearcher lang:ja") == []
    assert [p.text for p in search("#travel")] == [
        "Lost luggage again at https://example.com/bags #travel"
    ]
    flights = search("flight -is:retweet", post_fields=["created_at"])
    assert len(flights) > 10  # more than one page, no repeats
    assert len({p.id for p in flights}) == len(flights)
    assert all("flight" in p.text.lower() for p in flights)
    with pytest.raises(requests.HTTPError) as bad:
        next(iter(a.posts.search_recent(query="-flight")))  # nothing but a negation
    assert bad.value.response.status_code == 400
    assert bad.value.response.headers["content-type"].startswith("application/problem+json")
    assert bad.value.response.json()["type"] == PROBLEMS + "invalid-request"


def test_mentions_followers_and_following(sb: RunningSandbox) -> None:
    human = humans(sb, "airlines")[2]
    token = sb.create_account("xdkmentioner", niche="airlines", followers=150)
    c = user(sb, token)
    said = c.posts.create(CreateRequest(text=f"@{human.username} what a week for delays"))
    a = app(sb)
    mentioned = next(iter(a.users.get_mentions(human.id, max_results=5)))
    assert mentioned.data[0].id == said.data.id

    me = c.users.get_me(user_fields=["public_metrics"]).data
    followers = [
        u
        for page in pages(a.users.get_followers(me.id, max_results=100))
        if page.data
        for u in page.data
    ]
    assert len(followers) == len({u.id for u in followers}) == 150
    assert me.public_metrics.followers_count == 150
    following = [u for page in pages(a.users.get_following(me.id)) for u in page.data]
    assert {u.username for u in following} == {h.username for h in humans(sb, "airlines")}
    member = followers[0]
    theirs = [u for page in pages(a.users.get_following(member.id)) for u in page.data]
    assert me.id in {u.id for u in theirs}


def test_errors_are_problem_json_in_the_spec_shapes(sb: RunningSandbox) -> None:
    # an app token on a user-context operation: 403, problem type under api.x.com
    as_user = Client(base_url=sb.base_url, access_token=sb.app_token)
    with pytest.raises(requests.HTTPError) as refused:
        as_user.posts.create(CreateRequest(text="apps cannot post"))
    response = refused.value.response
    assert response.status_code == 403
    assert response.headers["content-type"].startswith("application/problem+json")
    assert response.json()["type"] == PROBLEMS + "unsupported-authentication"
    with httpx.Client(base_url=sb.base_url) as http:
        nowhere = http.get("/2/nothing/here", headers={"Authorization": f"Bearer {sb.app_token}"})
    assert nowhere.status_code == 404
    assert nowhere.headers["content-type"].startswith("application/problem+json")
