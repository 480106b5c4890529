"""Mixed read/write load on the sandbox over loopback; prints JSON (req/s, p50/p99 ms).

The server runs in its own process (a tiny world, rate limits scaled up so the load is not
throttled); the client is a minimal asyncio HTTP/1.1 client with N keep-alive connections.
Mix: 41% metrics lookups (GET /2/tweets?ids=, 20 ids), 12% list timelines, 8% user
timelines, 7% single posts, 5% liking users, 3% reposted-by, 2% quote posts, 5% recent search,
3% mentions, 2% followers, 1% following, 3% likes (POST /2/users/:id/likes), 1% image posts
(POST /2/media/upload, then POST /2/tweets with media.media_ids; one sample, both timed),
7% writes (POST /2/tweets).

    .venv/bin/python bench/sandbox_load.py [--seconds 15] [--concurrency 16]
    .venv/bin/python bench/sandbox_load.py --scoring   # engagement model at scale instead
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import subprocess
import sys
import tempfile
import time

SERVER = """
import json, sys, time
from pathlib import Path
from vibeforge.sandbox.limits import RateLimits
from vibeforge.sandbox.server import start_sandbox
sb = start_sandbox(home=Path(sys.argv[1]), world="tiny", seed=0, speed=60,
                   limits=RateLimits(scale=10_000))
tokens = [sb.create_account(f"load{i}", niche="airlines") for i in range(8)]
print(json.dumps({"base_url": sb.base_url, "app": sb.app_token, "users": tokens,
                  "lists": sb.list_ids()}), flush=True)
sys.stdin.read()
sb.stop()
"""


def _png() -> str:
    """A small real PNG (64x64, one colour), base64 as the v2 upload's JSON body takes it."""
    import base64
    import struct
    import zlib

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    rows = b"".join(b"\x00" + b"\x1d\x9b\xf0" * 64 for _ in range(64))
    raw = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 64, 64, 8, 2, 0, 0, 0))
    raw += chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b"")
    return base64.b64encode(raw).decode()


PNG = _png()


class Conn:
    """A minimal HTTP/1.1 keep-alive client: the load generator must cost far less CPU than the
    server it measures (httpx's async client took more CPU per request than the sandbox)."""

    def __init__(self, host: str, port: int) -> None:
        self.host, self.port = host, port
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def request(self, method: str, target: str, token: str, body: dict | None = None):  # type: ignore[no-untyped-def]
        if self.writer is None:
            self.reader, self.writer = await asyncio.open_connection(self.host, self.port)
        assert self.reader is not None
        payload = json.dumps(body).encode() if body is not None else b""
        head = (
            f"{method} {target} HTTP/1.1\r\nHost: {self.host}\r\n"
            f"Authorization: Bearer {token}\r\nContent-Length: {len(payload)}\r\n"
            + ("Content-Type: application/json\r\n" if body is not None else "")
            + "\r\n"
        )
        self.writer.write(head.encode() + payload)
        headers = await self.reader.readuntil(b"\r\n\r\n")
        status = int(headers[9:12])
        length = 0
        for line in headers.split(b"\r\n"):
            if line[:15].lower() == b"content-length:":
                length = int(line[15:])
        data = await self.reader.readexactly(length)
        return status, data


async def run(info: dict, *, seconds: float, concurrency: int) -> dict:
    from urllib.parse import urlencode, urlsplit

    url = urlsplit(info["base_url"])
    host, port = url.hostname or "127.0.0.1", int(url.port or 80)
    rng = random.Random(0)
    app = info["app"]
    latencies: list[float] = []
    by_kind: dict[str, list[float]] = {}
    statuses: dict[int, int] = {}
    lists = list(info["lists"].values())
    probe = Conn(host, port)
    _, raw = await probe.request(
        "GET", f"/2/lists/{lists[0]}/tweets?max_results=100&tweet.fields=author_id", app
    )
    first = json.loads(raw)["data"]
    posts = [p["id"] for p in first]
    authors = sorted({p["author_id"] for p in first})
    deadline = time.perf_counter() + seconds
    counter = 0

    users = info["users"]
    words = ["flight", "delayed", "gate", "bag", "crew", "iphone", "apple", "battery"]

    async def worker(w: int) -> None:
        nonlocal counter
        conn = Conn(host, port)
        token = users[w % len(users)]
        me = token.split("-", 1)[0]  # a user token is <user id>-<secret>
        while time.perf_counter() < deadline:
            roll = rng.random()
            t0 = time.perf_counter()
            if roll < 0.41:
                kind = "lookup"
                q = urlencode(
                    {
                        "ids": ",".join(rng.sample(posts, min(20, len(posts)))),
                        "post.fields": "public_metrics,created_at,author_id",
                    }
                )
                status, _ = await conn.request("GET", f"/2/tweets?{q}", app)
            elif roll < 0.53:
                kind = "list"
                q = "max_results=20&tweet.fields=public_metrics"
                status, _ = await conn.request(
                    "GET", f"/2/lists/{rng.choice(lists)}/tweets?{q}", app
                )
            elif roll < 0.61:
                kind = "user_tl"
                status, _ = await conn.request(
                    "GET", f"/2/users/{rng.choice(authors)}/tweets?max_results=10", app
                )
            elif roll < 0.68:
                kind = "single"
                status, _ = await conn.request("GET", f"/2/tweets/{rng.choice(posts)}", app)
            elif roll < 0.73:
                kind = "liking_users"
                target = f"/2/tweets/{rng.choice(posts)}/liking_users?max_results=100"
                status, _ = await conn.request("GET", target, token)
            elif roll < 0.76:
                kind = "retweeted_by"
                target = f"/2/tweets/{rng.choice(posts)}/retweeted_by"
                status, _ = await conn.request("GET", target, app)
            elif roll < 0.78:
                kind = "quote_tweets"
                target = f"/2/tweets/{rng.choice(posts)}/quote_tweets?max_results=10"
                status, _ = await conn.request("GET", target, app)
            elif roll < 0.83:
                kind = "search"
                q = urlencode({"query": f"{rng.choice(words)} -is:retweet", "max_results": 10})
                status, _ = await conn.request("GET", f"/2/tweets/search/recent?{q}", app)
            elif roll < 0.86:
                kind = "mentions"
                target = f"/2/users/{rng.choice(authors)}/mentions?max_results=10"
                status, _ = await conn.request("GET", target, app)
            elif roll < 0.88:
                kind = "followers"
                target = f"/2/users/{rng.choice(authors)}/followers?max_results=100"
                status, _ = await conn.request("GET", target, app)
            elif roll < 0.89:
                kind = "following"
                target = f"/2/users/{rng.choice(authors)}/following?max_results=100"
                status, _ = await conn.request("GET", target, app)
            elif roll < 0.92:
                kind = "like"
                body = {"tweet_id": rng.choice(posts)}
                status, _ = await conn.request("POST", f"/2/users/{me}/likes", token, body)
            elif roll < 0.93:
                kind = "media_upload"  # an image: upload, then the post that carries it
                body = {"media": PNG, "media_category": "tweet_image"}
                status, raw = await conn.request("POST", "/2/media/upload", token, body)
                if status == 200:
                    counter += 1
                    media = {"media_ids": [json.loads(raw)["data"]["id"]]}
                    text = f"load test chart {counter} #{w}"
                    body = {"text": text, "media": media}
                    status, _ = await conn.request("POST", "/2/tweets", token, body)
            else:
                counter += 1
                kind = "write"
                text = f"load test post {counter} about delayed flights #{w}"
                status, _ = await conn.request("POST", "/2/tweets", token, {"text": text})
            latencies.append(time.perf_counter() - t0)
            by_kind.setdefault(kind, []).append(latencies[-1])
            statuses[status] = statuses.get(status, 0) + 1

    start = time.perf_counter()
    await asyncio.gather(*(worker(w) for w in range(concurrency)))
    elapsed = time.perf_counter() - start
    latencies.sort()

    def pct(q: float, values: list[float] = latencies) -> float:
        return round(1000 * values[min(len(values) - 1, int(q * len(values)))], 2)

    return {
        "requests": len(latencies),
        "seconds": round(elapsed, 2),
        "req_per_s": round(len(latencies) / elapsed, 1),
        "p50_ms": pct(0.50),
        "p90_ms": pct(0.90),
        "p99_ms": pct(0.99),
        "statuses": statuses,
        "concurrency": concurrency,
        "p50_p99_ms_by_kind": {
            k: [pct(0.5, sorted(v)), pct(0.99, sorted(v))] for k, v in sorted(by_kind.items())
        },
    }


def scoring(*, members_per_niche: int, tweets_per_niche: int) -> dict:
    """Seed a two-niche world (hashing embedder) and score every post against every member."""
    from pathlib import Path

    from vibeforge.sandbox.engine import World

    with tempfile.TemporaryDirectory() as home:
        world = World(home=Path(home), speed=0)
        start = time.perf_counter()
        world.seed(
            world="tiny",
            seed=0,
            members_per_niche=members_per_niche,
            tweets_per_niche=tweets_per_niche,
        )
        seconds = time.perf_counter() - start
        posts = world.store.one("SELECT COUNT(*) FROM posts")[0]
        members = len(world.audience.activity)  # type: ignore[union-attr]
        world.close()
    return {
        "bench": "sandbox_scoring",
        "posts": posts,
        "members": members,
        "seed_seconds": round(seconds, 2),
        "posts_per_s": round(posts / seconds, 1),
        "member_post_pairs_per_s": round(posts * members / seconds),
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=15.0)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--scoring", action="store_true", help="bench the engagement model")
    parser.add_argument("--members-per-niche", type=int, default=15_000)
    parser.add_argument("--tweets-per-niche", type=int, default=1_500)
    args = parser.parse_args()
    if args.scoring:
        print(
            json.dumps(
                scoring(
                    members_per_niche=args.members_per_niche, tweets_per_niche=args.tweets_per_niche
                )
            )
        )
        return
    with tempfile.TemporaryDirectory() as home:
        server = subprocess.Popen(
            [sys.executable, "-c", SERVER, home],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        try:
            assert server.stdout is not None
            info = json.loads(server.stdout.readline())
            result = asyncio.run(run(info, seconds=args.seconds, concurrency=args.concurrency))
        finally:
            assert server.stdin is not None
            server.stdin.close()
            server.wait(timeout=30)
    print(json.dumps({"bench": "sandbox_load", **result}))


if __name__ == "__main__":
    main()
