"""X's official Python SDK (`xdk`), unchanged, against the local sandbox: post, read metrics in
spec 2.167's names, list who liked a popular post, search recent posts.

.venv/bin/python examples/sandbox_xdk.py
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from xdk import Client
from xdk.posts.models import CreateRequest

from vibeforge.sandbox import start_sandbox


def main() -> None:
    with start_sandbox(home=Path(tempfile.mkdtemp()), world="tiny", seed=0, speed=0) as sb:
        client = Client(
            base_url=sb.base_url,
            access_token=sb.create_account("examplebot", niche="airlines", followers=200),
        )
        post = client.posts.create(
            CreateRequest(text="Window or aisle, and why?", made_with_ai=True)
        )
        sb.advance(hours=24)
        got = client.posts.get_by_id(post.data.id, post_fields=["public_metrics"])
        print("after 24 h:", got.data.public_metrics)
        page = next(iter(client.posts.search_recent(query="flight -is:retweet", max_results=10)))
        busiest = client.posts.get_by_ids(
            ids=[p.id for p in page.data], post_fields=["public_metrics"]
        ).data
        top = max(busiest, key=lambda p: p.public_metrics.like_count)
        likers = next(iter(client.posts.get_liking_users(top.id, max_results=10)))
        print(f"{top.public_metrics.like_count} likes on: {top.text[:60]}")
        print("latest likers:", [u.username for u in likers.data or []])


if __name__ == "__main__":
    main()
