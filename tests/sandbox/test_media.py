"""Images on the sandbox's X face: X's one-shot media upload (JSON through xdk, multipart
through httpx beside tweepy, which has no v2 upload), posts that carry them, the media
expansion, the spec's problems for every refusal, and the audience's media boost."""

from __future__ import annotations

import base64
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from xdk import Client
from xdk.media.models import CreateMetadataRequest, UploadRequest
from xdk.posts.models import CreateRequest
from xdk.schemas import CreatePostsMedia

from vibeforge.sandbox.model import AudienceParams
from vibeforge.sandbox.server import RunningSandbox, start_sandbox
from vibeforge.sandbox.tweepy_adapter import attach

PROBLEMS = "https://api.x.com/2/problems/"
tweepy = pytest.importorskip("tweepy")


@pytest.fixture(scope="module")
def sb(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningSandbox]:
    home: Path = tmp_path_factory.mktemp("media")
    with start_sandbox(home=home, world="tiny", seed=0, speed=0) as sandbox:
        yield sandbox


def auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def upload_json(sb: RunningSandbox, token: str, data: bytes, **extra: Any) -> httpx.Response:
    body = {"media": base64.b64encode(data).decode(), "media_category": "tweet_image", **extra}
    return httpx.post(f"{sb.base_url}/2/media/upload", json=body, headers=auth(token), timeout=30)


def problem(response: httpx.Response, status: int, kind: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    body = response.json()
    assert body["type"] == PROBLEMS + kind and body["status"] == status
    return body


def test_xdk_uploads_an_image_posts_it_and_reads_it_back(
    sb: RunningSandbox, png: Callable[..., bytes]
) -> None:
    token = sb.create_account("xdkpics", niche="apple")
    client = Client(base_url=sb.base_url, access_token=token)
    image = png(64, 48, seed=1)
    up = client.media.upload(
        UploadRequest(media=base64.b64encode(image).decode(), media_category="tweet_image")
    )
    assert up.data is not None
    media_id = up.data.id
    assert up.data.media_key == f"3_{media_id}" and up.data.expires_after_secs == 86_400
    assert up.data.size == len(image)
    assert up.data.image is not None and (up.data.image.w, up.data.image.h) == (64, 48)
    meta = client.media.create_metadata(
        CreateMetadataRequest(id=media_id, metadata={"alt_text": {"text": "a grey square"}})
    )
    assert meta.data is not None and meta.data.id == media_id
    post = client.posts.create(
        CreateRequest(
            text="my new phone's camera, unedited",
            made_with_ai=True,
            media=CreatePostsMedia(media_ids=[media_id]),
        )
    )
    assert post.data is not None
    read = client.posts.get_by_id(
        post.data.id,
        expansions=["attachments.media_keys"],
        media_fields=["url", "width", "height", "alt_text", "type"],
    )
    assert read.data is not None and read.data.attachments is not None
    assert read.data.attachments.media_keys == [f"3_{media_id}"]
    assert read.includes is not None and read.includes.media is not None
    (media,) = read.includes.media
    assert (media.media_key, media.type, media.width, media.height, media.alt_text) == (
        f"3_{media_id}",
        "photo",
        64,
        48,
        "a grey square",
    )
    assert media.url is not None and media.url.endswith(f"/media/3_{media_id}.png")
    served = httpx.get(media.url, timeout=30)
    assert served.status_code == 200 and served.headers["content-type"] == "image/png"
    assert served.content == image
    # without the expansion nothing about media is said
    plain = client.posts.get_by_id(post.data.id)
    assert plain.data is not None and plain.data.attachments is None and plain.includes is None


def test_tweepy_posts_media_uploaded_as_multipart(
    sb: RunningSandbox, png: Callable[..., bytes]
) -> None:
    token = sb.create_account("tweepypics", niche="airlines")
    images = [png(10, 20, seed=s) for s in (1, 2)]
    ids = []
    for image in images:
        up = httpx.post(
            f"{sb.base_url}/2/media/upload",
            files={"media": ("chart.png", image, "image/png")},
            data={"media_category": "tweet_image"},
            headers=auth(token),
            timeout=30,
        )
        assert up.status_code == 200, up.text
        ids.append(up.json()["data"]["id"])
    client = attach(tweepy.Client(bearer_token=token), sb.base_url)
    created = client.create_tweet(
        text="Two views of the gate at dawn", media_ids=ids, user_auth=False
    )
    got = client.get_tweet(
        created.data["id"],
        expansions=["attachments.media_keys"],
        media_fields=["url", "width", "height"],
        user_auth=False,
    )
    assert got.data.attachments == {"media_keys": [f"3_{i}" for i in ids]}
    media = got.includes["media"]
    assert [m.media_key for m in media] == [f"3_{i}" for i in ids]
    assert [(m.width, m.height, m.type) for m in media] == [(10, 20, "photo")] * 2
    assert [httpx.get(m.url, timeout=30).content for m in media] == images
    # a multipart upload keeps every byte: CR, LF and the boundary's dashes included
    tricky = png(3, 3) + b"\r\n--\r\n\r\n\x00\xff"
    up = httpx.post(
        f"{sb.base_url}/2/media/upload",
        files={"media": ("x.png", tricky, "image/png")},
        data={"media_category": "tweet_image"},
        headers=auth(token),
        timeout=30,
    )
    key = up.json()["data"]["media_key"]
    assert httpx.get(f"{sb.base_url}/media/{key}.png", timeout=30).content == tricky


def test_upload_and_attachment_refusals_are_the_spec_problems(
    sb: RunningSandbox, png: Callable[..., bytes]
) -> None:
    token = sb.create_account("refusedpics", niche="apple")
    other = sb.create_account("otherpics", niche="apple")
    base = sb.base_url
    too_big = png(1, 1) + b"\x00" * (5 * 1024 * 1024)
    assert problem(upload_json(sb, token, too_big), 400, "invalid-request")["parameter"] == "media"
    wrong = problem(upload_json(sb, token, b"%PDF-1.7 not an image"), 400, "invalid-request")
    assert wrong["parameter"] == "media" and "JPEG" in wrong["errors"][0]["message"]
    bad64 = httpx.post(
        f"{base}/2/media/upload",
        json={"media": "not base64!", "media_category": "tweet_image"},
        headers=auth(token),
    )
    assert problem(bad64, 400, "invalid-request")["parameter"] == "media"
    category = httpx.post(
        f"{base}/2/media/upload",
        json={"media": base64.b64encode(png(2, 2)).decode(), "media_category": "tweet_video"},
        headers=auth(token),
    )
    assert problem(category, 400, "invalid-request")["parameter"] == "media_category"
    extra = upload_json(sb, token, png(2, 2), shared=True)
    assert problem(extra, 400, "invalid-request")["parameter"] == "shared"
    app_only = upload_json(sb, sb.app_token, png(2, 2))
    assert problem(app_only, 403, "unsupported-authentication")

    mine = [upload_json(sb, token, png(2, 2, seed=s)).json()["data"]["id"] for s in range(5)]
    theirs = upload_json(sb, other, png(2, 2)).json()["data"]["id"]

    def post(text: str, media_ids: Any) -> httpx.Response:
        return httpx.post(
            f"{base}/2/tweets",
            json={"text": text, "media": {"media_ids": media_ids}},
            headers=auth(token),
        )

    five = problem(post("five", mine), 400, "invalid-request")
    assert five["parameter"] == "media.media_ids" and five["value"] == "5"
    assert problem(post("none", []), 400, "invalid-request")["parameter"] == "media.media_ids"
    for bad in (theirs, "123456789"):
        refused = problem(post(f"with {bad}", [bad]), 400, "invalid-request")
        assert refused["errors"][0]["message"] == "Your media IDs are invalid."
        assert refused["value"] == bad
    assert problem(post("twice", [mine[0], mine[0]]), 400, "invalid-request")
    assert problem(post("not a string", [int(mine[0])]), 400, "invalid-request")
    # nothing was posted by any refusal
    assert (
        sb.world.store.count(
            "SELECT COUNT(*) FROM posts p JOIN users u ON u.id = p.author_id WHERE u.username = ?",
            ("refusedpics",),
        )
        == 0
    )
    ok = post("four is the most", mine[:4])
    assert ok.status_code == 201, ok.text

    def metadata(tok: str, media_id: str) -> httpx.Response:
        return httpx.post(
            f"{base}/2/media/metadata",
            json={"id": media_id, "metadata": {"alt_text": {"text": "alt"}}},
            headers=auth(tok),
        )

    missing = problem(metadata(token, "42"), 404, "resource-not-found")
    assert missing["resource_type"] == "media" and missing["resource_id"] == "42"
    assert metadata(token, theirs).status_code == 403
    long_alt = httpx.post(
        f"{base}/2/media/metadata",
        json={"id": mine[4], "metadata": {"alt_text": {"text": "a" * 1001}}},
        headers=auth(token),
    )
    assert problem(long_alt, 400, "invalid-request")
    assert httpx.get(f"{base}/media/3_42.png").status_code == 404
    assert httpx.get(f"{base}/media/3_{mine[4]}.jpg").status_code == 404  # it is a PNG

    # a media id can be attached for 24 hours of platform time after its upload
    sb.advance(hours=25)
    late = problem(post("a day late", [mine[4]]), 400, "invalid-request")
    assert late["errors"][0]["message"] == "Your media IDs are invalid."


def test_media_boost_raises_expected_engagement(
    sb: RunningSandbox, png: Callable[..., bytes]
) -> None:
    token = sb.create_account("boostpics", niche="apple", followers=1200)
    uid = int(token.split("-")[0])
    text = "The new iPhone camera is stunning in low light"
    admin = auth(sb.admin_token)

    def evaluate(has_media: bool | None) -> dict[str, float]:
        body: dict[str, Any] = {"texts": [text], "author_id": str(uid)}
        if has_media is not None:
            body["has_media"] = has_media
        r = httpx.post(f"{sb.base_url}/admin/evaluate", json=body, headers=admin, timeout=60)
        assert r.status_code == 200, r.text
        return r.json()["data"][0]

    plain, same, pictured = evaluate(None), evaluate(False), evaluate(True)
    assert plain == same and "media" not in plain["factors"]
    assert pictured["factors"]["media"] is True
    boost = AudienceParams().media_boost
    assert boost > 1
    assert pictured["expected"]["impressions"] == plain["expected"]["impressions"]
    for kind in ("like", "repost", "reply", "bookmark"):
        assert pictured["expected"][kind] > plain["expected"][kind]
        assert pictured["expected"][kind] == pytest.approx(boost * plain["expected"][kind], 1e-3)

    # the post's hidden truth is scored with the boost: what evaluate said, to the rounding
    media_id = upload_json(sb, token, png(8, 8)).json()["data"]["id"]
    created = httpx.post(
        f"{sb.base_url}/2/tweets",
        json={"text": text, "media": {"media_ids": [media_id]}},
        headers=auth(token),
    )
    post_id = created.json()["data"]["id"]
    truth = httpx.get(f"{sb.base_url}/admin/truth", params={"ids": post_id}, headers=admin)
    row = truth.json()["data"][0]
    assert row["factors"]["media"] is True
    assert row["expected"] == pictured["expected"]
    # and the members behind the counts are the same draw (the replay knows of the image)
    sb.advance(hours=240)  # fully accrued: the API shows the final counts
    read = httpx.get(
        f"{sb.base_url}/2/tweets/{post_id}",
        params={"post.fields": "public_metrics"},
        headers=auth(token),
    )
    likes = read.json()["data"]["public_metrics"]["like_count"]
    assert likes == row["final"]["like"] > 1, row
    likers = httpx.get(
        f"{sb.base_url}/2/tweets/{post_id}/liking_users",
        params={"max_results": 100},
        headers=auth(token),
    )
    assert likers.json()["meta"]["result_count"] == min(likes, 100)


def test_media_boost_is_validated() -> None:
    with pytest.raises(ValueError, match="media_boost"):
        AudienceParams(media_boost=0)


def test_media_survive_a_restart(tmp_path: Path, png: Callable[..., bytes]) -> None:
    image = png(5, 7, seed=3)
    with start_sandbox(home=tmp_path, world="tiny", seed=0, speed=0) as first:
        token = first.create_account("keeppics", niche="apple")
        media_id = upload_json(first, token, image).json()["data"]["id"]
        created = httpx.post(
            f"{first.base_url}/2/tweets",
            json={"text": "kept", "media": {"media_ids": [media_id]}},
            headers=auth(token),
        )
        post_id = created.json()["data"]["id"]
    with start_sandbox(home=tmp_path, world="tiny", seed=0, speed=0) as again:
        read = httpx.get(
            f"{again.base_url}/2/tweets/{post_id}",
            params={"expansions": "attachments.media_keys", "media.fields": "url"},
            headers=auth(again.app_token),
        )
        (media,) = read.json()["includes"]["media"]
        assert media["url"].startswith(again.base_url)
        assert httpx.get(media["url"]).content == image
