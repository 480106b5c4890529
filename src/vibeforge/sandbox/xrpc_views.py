"""World rows → the XRPC face's JSON: profile views, post records and post views, in the shapes of
the `app.bsky` lexicons (what the atproto SDK parses into its models).

Posts made through the X face, and the humans' scheduled posts, have no stored record: theirs is
built from the row (text, time, reply and quote refs, the `bot` self-label when made with AI),
so its CID is stable. Posts made through `createRecord` keep the record they were sent.

Likers and reposters: the audience are not accounts, so a post's likers are the first
`likeCount` members of a permutation seeded by the world seed and the post id (stable, and a
prefix as the count grows), shown as `memberN.audience.test` profiles.
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass
from typing import Any

import numpy as np

from vibeforge.sandbox.atids import (
    GENERATOR,
    LIST,
    POST,
    PROFILE,
    at_uri,
    did_for,
    handle_for,
    record_cid,
    tid,
)
from vibeforge.sandbox.clock import iso
from vibeforge.sandbox.engine import POST_COLUMNS, PostRow, World, post_row
from vibeforge.sandbox.render import user_metrics
from vibeforge.sandbox.world import WORLD_START_MS

BOT_LABEL = "bot"  # Bluesky's self-label for automated accounts
SELF_LABELS = "com.atproto.label.defs#selfLabels"
MEMBER_SUFFIX = ".audience.test"


@dataclass(frozen=True, slots=True)
class Person:
    uid: int
    username: str
    name: str
    did: str
    handle: str
    created_ms: int
    description: str


class Identities:
    """DIDs and handles of the world's accounts, loaded once and again when one is missing
    (accounts made after the load)."""

    def __init__(self, world: World) -> None:
        self.world = world
        self._lock = threading.Lock()
        self._by_uid: dict[int, Person] = {}
        self._by_key: dict[str, int] = {}

    def _load(self) -> None:
        rows = self.world.store.all("SELECT id, username, name, created_ms, description FROM users")
        by_uid, by_key = {}, {}
        for r in rows:
            person = Person(
                r[0], r[1], r[2], did_for("user", r[0]), handle_for(r[1]), r[3], r[4] or ""
            )
            by_uid[person.uid] = person
            by_key[person.did] = by_key[person.handle] = by_key[person.username.lower()] = r[0]
        with self._lock:
            self._by_uid, self._by_key = by_uid, by_key

    def person(self, uid: int) -> Person | None:
        if uid not in self._by_uid:
            self._load()
        return self._by_uid.get(uid)

    def resolve(self, actor: str) -> Person | None:
        """An account by DID, handle or sandbox username (any case), or None."""
        key = actor.lower().removeprefix("@")
        if key not in self._by_key:
            self._load()
        uid = self._by_key.get(key)
        return None if uid is None else self._by_uid.get(uid)


def member_did(member: int) -> str:
    return did_for("member", member)


def member_profile(member: int) -> dict[str, Any]:
    return {
        "did": member_did(member),
        "handle": f"member{member}{MEMBER_SUFFIX}",
        "displayName": f"Audience member {member}",
        "labels": [],
    }


class Views:
    """Renders rows of one world; `base_url` is where blobs are served (image views)."""

    def __init__(self, world: World, ids: Identities) -> None:
        self.world = world
        self.ids = ids

    # -- profiles ----------------------------------------------------------------------------
    def profile_record(self, uid: int) -> tuple[dict[str, Any], str] | None:
        row = self.world.store.one(
            "SELECT record, cid FROM at_records WHERE author_id = ? AND collection = ? "
            "AND rkey = 'self'",
            (uid, PROFILE),
        )
        return None if row is None else (json.loads(row[0]), row[1])

    def labels(
        self, record: dict[str, Any], *, did: str, uri: str, cid: str, cts: str
    ) -> list[dict[str, Any]]:
        """A record's self-labels as label views (what the AppView shows)."""
        labels = record.get("labels")
        if not isinstance(labels, dict) or labels.get("$type") != SELF_LABELS:
            return []
        stamp = record.get("createdAt") if isinstance(record.get("createdAt"), str) else cts
        return [
            {"src": did, "uri": uri, "cid": cid, "val": v["val"], "cts": stamp}
            for v in labels.get("values") or []
            if isinstance(v, dict) and isinstance(v.get("val"), str)
        ]

    def profile(self, person: Person, *, detailed: bool = False) -> dict[str, Any]:
        record, cid = self.profile_record(person.uid) or ({}, "")
        created = iso(person.created_ms)
        uri = at_uri(person.did, PROFILE, "self")
        view: dict[str, Any] = {
            "did": person.did,
            "handle": person.handle,
            "displayName": record.get("displayName", person.name),
            "createdAt": created,
            "labels": self.labels(record, did=person.did, uri=uri, cid=cid, cts=created),
        }
        if detailed:
            counts = user_metrics(self.world, person.uid)
            view |= {
                "description": record.get("description", person.description),
                "indexedAt": iso(person.created_ms),
                "followersCount": counts["followers_count"],
                "followsCount": counts["following_count"],
                "postsCount": counts["tweet_count"],
            }
        return view

    def profile_of(self, uid: int, *, detailed: bool = False) -> dict[str, Any]:
        person = self.ids.person(uid)
        if person is None:  # a row without its user: still a well-formed view
            return {"did": did_for("user", uid), "handle": handle_for(f"user{uid}")}
        return self.profile(person, detailed=detailed)

    # -- posts -------------------------------------------------------------------------------
    def post(self, post_id: int) -> PostRow | None:
        row = self.world.store.one(
            f"SELECT {POST_COLUMNS} FROM posts WHERE id = ? AND deleted = 0", (post_id,)
        )
        return None if row is None else post_row(row)

    def record(self, row: PostRow, depth: int = 0) -> tuple[dict[str, Any], str, str]:
        """(record, cid, rkey) of a post: stored, or built from its row."""
        stored = self.world.store.one(
            "SELECT rkey, record, cid FROM at_records WHERE post_id = ?", (row.id,)
        )
        if stored is not None:
            return json.loads(stored[1]), stored[2], stored[0]
        record: dict[str, Any] = {
            "$type": POST,
            "text": row.text,
            "createdAt": iso(row.created_ms),
            "langs": ["en"],
        }
        parent = self.post(row.reply_to) if row.reply_to and depth < 50 else None
        if parent is not None:
            parent_record, parent_cid, _ = self.record(parent, depth + 1)
            parent_ref = {"uri": self.uri(parent), "cid": parent_cid}
            root = (parent_record.get("reply") or {}).get("root") or parent_ref
            record["reply"] = {"root": root, "parent": parent_ref}
        quoted = self.post(row.quote_of) if row.quote_of and depth < 50 else None
        if quoted is not None:
            record["embed"] = {
                "$type": "app.bsky.embed.record",
                "record": {"uri": self.uri(quoted), "cid": self.record(quoted, depth + 1)[1]},
            }
        if row.made_with_ai:
            record["labels"] = {"$type": SELF_LABELS, "values": [{"val": BOT_LABEL}]}
        return record, record_cid(record), tid(row.id)

    def uri(self, row: PostRow) -> str:
        stored = self.world.store.one("SELECT rkey FROM at_records WHERE post_id = ?", (row.id,))
        return at_uri(did_for("user", row.author_id), POST, stored[0] if stored else tid(row.id))

    def post_views(self, rows: list[PostRow], *, blob_base: str) -> list[dict[str, Any]]:
        metrics = self.world.metrics([r.id for r in rows]) if rows else {}
        out = []
        for row in rows:
            record, cid, rkey = self.record(row)
            author = self.profile_of(row.author_id)
            uri = at_uri(author["did"], POST, rkey)
            m = metrics.get(row.id, {})
            view: dict[str, Any] = {
                "uri": uri,
                "cid": cid,
                "author": author,
                "record": record,
                "replyCount": m.get("reply", 0),
                "repostCount": m.get("repost", 0),
                "likeCount": m.get("like", 0),
                "quoteCount": m.get("quote", 0),
                "bookmarkCount": m.get("bookmark", 0),
                "indexedAt": iso(row.created_ms),
                "labels": self.labels(
                    record, did=author["did"], uri=uri, cid=cid, cts=iso(row.created_ms)
                ),
            }
            embed = self.embed_view(record.get("embed"), did=author["did"], blob_base=blob_base)
            if embed is not None:
                view["embed"] = embed
            out.append(view)
        return out

    def embed_view(self, embed: Any, *, did: str, blob_base: str) -> dict[str, Any] | None:
        if not isinstance(embed, dict):
            return None
        if embed.get("$type") == "app.bsky.embed.images":
            images = []
            for image in embed.get("images") or []:
                cid = image["image"]["ref"]["$link"]
                url = f"{blob_base}/xrpc/com.atproto.sync.getBlob?did={did}&cid={cid}"
                images.append({"thumb": url, "fullsize": url, "alt": image.get("alt", "")})
            return {"$type": "app.bsky.embed.images#view", "images": images}
        if embed.get("$type") == "app.bsky.embed.record":
            quoted = self.find_post(embed["record"]["uri"])
            if quoted is None:
                return {
                    "$type": "app.bsky.embed.record#view",
                    "record": {
                        "$type": "app.bsky.embed.record#viewNotFound",
                        "uri": embed["record"]["uri"],
                        "notFound": True,
                    },
                }
            record, cid, _ = self.record(quoted)
            return {
                "$type": "app.bsky.embed.record#view",
                "record": {
                    "$type": "app.bsky.embed.record#viewRecord",
                    "uri": self.uri(quoted),
                    "cid": cid,
                    "author": self.profile_of(quoted.author_id),
                    "value": record,
                    "indexedAt": iso(quoted.created_ms),
                },
            }
        return None

    def find_post(self, uri: str) -> PostRow | None:
        """The live post an AT URI names (by DID or handle), or None."""
        from vibeforge.sandbox.atids import parse_at_uri, tid_value

        parsed = parse_at_uri(uri)
        if parsed is None or parsed.collection != POST:
            return None
        person = self.ids.resolve(parsed.authority)
        if person is None:
            return None
        stored = self.world.store.one(
            "SELECT post_id FROM at_records WHERE author_id = ? AND collection = ? AND rkey = ?",
            (person.uid, POST, parsed.rkey),
        )
        if stored is not None:
            row = self.post(stored[0])
        else:
            value = tid_value(parsed.rkey)
            row = self.post(value) if value is not None else None
            if row is not None and self.uri(row) != at_uri(person.did, POST, parsed.rkey):
                row = None  # that id has a chosen key of its own
        if row is None or row.author_id != person.uid or row.created_ms > self.world.now_ms():
            return None
        return row

    # -- engagement --------------------------------------------------------------------------
    def engagers(self, row: PostRow, kind: str) -> list[int]:
        """The audience members who liked (or reposted) a post, newest first."""
        counts = self.world.metrics([row.id]).get(row.id, {})
        count = int(counts.get(kind, 0))
        audience = self.world.audience
        if not count or audience is None:
            return []
        rng = np.random.default_rng(
            [self.world.seed_value & 0xFFFFFFFF, row.id >> 32, row.id & 0xFFFFFFFF, len(kind)]
        )
        chosen = rng.permutation(len(audience.activity))[:count]
        return [int(m) for m in chosen[::-1]]

    def engaged_at(self, row: PostRow, index: int, count: int) -> str:
        """When the `index`-th (oldest first) of `count` engagements happened: spread over the
        post's age so far."""
        age = max(self.world.now_ms() - row.created_ms, 0)
        return iso(row.created_ms + age * (index + 1) // (count + 1))

    # -- lists and feeds ---------------------------------------------------------------------
    def list_view(self, list_id: int, name: str, owner: int, members: int) -> dict[str, Any]:
        creator = self.profile_of(owner)
        record = {
            "$type": LIST,
            "purpose": "app.bsky.graph.defs#curatelist",
            "name": name,
            "createdAt": iso(WORLD_START_MS),
        }
        return {
            "uri": at_uri(creator["did"], LIST, tid(list_id)),
            "cid": record_cid(record),
            "creator": creator,
            "name": name,
            "purpose": "app.bsky.graph.defs#curatelist",
            "description": f"people who post about {name}",
            "listItemCount": members,
            "indexedAt": record["createdAt"],
        }

    def generator_view(self, index: int, niche: str, owner: int) -> dict[str, Any]:
        creator = self.profile_of(owner)
        record = {
            "$type": GENERATOR,
            "did": creator["did"],
            "displayName": niche,
            "createdAt": iso(WORLD_START_MS),
        }
        return {
            "uri": at_uri(creator["did"], GENERATOR, niche.replace("_", "-")),
            "cid": record_cid(record),
            "did": creator["did"],
            "creator": creator,
            "displayName": niche,
            "description": f"everything posted about {niche}, newest first",
            "indexedAt": record["createdAt"],
        }
