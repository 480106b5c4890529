"""tweepy's Client, unchanged, against the local sandbox: post, read metrics, paginate a List.

.venv/bin/python examples/sandbox_tweepy.py
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import tweepy

from vibeforge.sandbox import start_sandbox
from vibeforge.sandbox.tweepy_adapter import attach


def main() -> None:
    with start_sandbox(home=Path(tempfile.mkdtemp()), world="tiny", seed=0, speed=0) as sb:
        token = sb.create_account("examplebot", niche="airlines", followers=200)
        client = attach(tweepy.Client(bearer_token=token), sb.base_url)
        post = client.create_tweet(text="Window or aisle, and why?", user_auth=False)
        sb.advance(hours=24)
        got = client.get_tweets([post.data["id"]], tweet_fields=["public_metrics"], user_auth=False)
        print("after 24 h:", got.data[0].public_metrics)
        list_id = sb.list_ids()["airlines"]
        for tweet in tweepy.Paginator(client.get_list_tweets, list_id, max_results=10).flatten(5):
            print(tweet.id, tweet.text[:70])


if __name__ == "__main__":
    main()
