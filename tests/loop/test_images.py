"""Posts with images through the outbox: the bot's image source is asked when a row with no
picture kept is sent; the picture is kept with the row and goes out on X (media upload +
media_ids) and on Bluesky (uploadBlob + an images embed) to the sandbox; a crash before or after
the create neither duplicates the post nor changes its picture; configuration names the source."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from tests.loop.conftest import FAST, make_eco
from tests.sandbox.conftest import make_png

from vibeforge.analytics.images import NoImages, TrendChart
from vibeforge.domain import (
    Bot,
    Image,
    Post,
    Publication,
    PublicationStatus,
    Timeline,
    TimelineKind,
)
from vibeforge.errors import ConfigError
from vibeforge.loop.act import act
from vibeforge.loop.config import LoopConfig
from vibeforge.loop.outbox import publish_pending
from vibeforge.loop.platform_kinds import SandboxClock
from vibeforge.loop.runtime import Runtime
from vibeforge.platforms.auth import BearerAuth
from vibeforge.platforms.bluesky import BlueskyClient
from vibeforge.platforms.x import XClient
from vibeforge.privacy.pseudonym import pseudonymizer
from vibeforge.privacy.scrub import Scrubber, ScrubConfig
from vibeforge.sandbox.server import RunningSandbox, start_sandbox
from vibeforge.store import images as stored_images
from vibeforge.store import make_engine, session_scope, upgrade
from vibeforge.store import queries as q


@dataclass
class Fixed:
    """An image source that gives the same picture every time, and counts the asks."""

    image: Image | None
    asked: list[str] = field(default_factory=list)

    def image_for(self, bot: Bot, text: str) -> Image | None:
        self.asked.append(text)
        return self.image


class Broken:
    """An image source whose chart code fails."""

    def image_for(self, bot: Bot, text: str) -> Image | None:
        raise RuntimeError("matplotlib exploded")


CHART = Image(data=make_png(40, 30, seed=7), mime="image/png", alt="posts about the strike")


@pytest.fixture(scope="module")
def sb(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningSandbox]:
    home: Path = tmp_path_factory.mktemp("images")
    with start_sandbox(home=home, world="tiny", seed=0, speed=0) as sandbox:
        yield sandbox


def _engine(tmp_path: Path, bot: Bot, *texts: str):  # type: ignore[no-untyped-def]
    engine = make_engine(f"sqlite:///{tmp_path / 'v.db'}")
    upgrade(engine)
    with session_scope(engine) as s:
        q.create_bot(s, bot=bot)
        for i, text in enumerate(texts):
            q.enqueue_publication(
                s,
                publication=Publication(idempotency_key=f"{bot.name}:{i}", bot=bot.name, text=text),
            )
    return engine


def _x(sb: RunningSandbox, handle: str) -> XClient:
    token = sb.create_account(handle, niche="airlines", followers=20)
    return XClient(
        base_url=sb.base_url,
        auth=BearerAuth(sb.app_token),
        user_auth={handle: BearerAuth(token)},
        clock=SandboxClock(sb.base_url, sb.admin_token),
        backoff_s=0.0,
    )


def _x_media(sb: RunningSandbox, post_id: str) -> list[tuple[bytes, str | None]]:
    rows = sb.world.store.all(
        "SELECT m.data, m.alt_text FROM x_post_media pm JOIN x_media m ON m.id = pm.media_id "
        "WHERE pm.post_id = ? ORDER BY pm.position",
        (int(post_id),),
    )
    return [(bytes(r[0]), r[1]) for r in rows]


def _posts_of(sb: RunningSandbox, handle: str) -> list[tuple[int, str]]:
    uid = sb.world.store.one("SELECT id FROM users WHERE username = ?", (handle,))[0]
    rows = sb.world.store.all("SELECT id, text FROM posts WHERE author_id = ?", (uid,))
    return [(int(r[0]), r[1]) for r in rows]


def test_a_post_goes_out_on_x_with_the_sources_image_kept_with_its_row(
    sb: RunningSandbox, tmp_path: Path
) -> None:
    bot = Bot(name="chartbot", account="chartbot")
    engine = _engine(tmp_path, bot, "Strike day at the airport, again")
    client = _x(sb, "chartbot")
    source = Fixed(CHART)
    report = publish_pending(engine, platform=client, bot=bot, now=client.now(), images=source)
    [post_id] = report.confirmed
    assert source.asked == ["Strike day at the airport, again"]
    assert _x_media(sb, post_id) == [(CHART.data, CHART.alt)]  # the bytes and alt text as sent
    with session_scope(engine) as s:
        assert stored_images.image_of(s, idempotency_key="chartbot:0") == CHART
        shown = stored_images.post_images(s, bot="chartbot", post_ids=[post_id, "other"])
        assert list(shown) == [post_id]
        assert (shown[post_id].alt, shown[post_id].size) == (CHART.alt, len(CHART.data))
        assert stored_images.post_image(s, bot="chartbot", post_id=post_id) == CHART
        assert stored_images.post_image(s, bot="someone", post_id=post_id) is None
    client.close()


def test_no_source_replies_and_a_failing_source_post_text_only(
    sb: RunningSandbox, tmp_path: Path
) -> None:
    bot = Bot(name="plainbot", account="plainbot")
    engine = _engine(tmp_path, bot, "Nothing to draw today, @plainbot", "A chart would be nice")
    client = _x(sb, "plainbot")
    first = publish_pending(engine, platform=client, bot=bot, now=client.now(), limit=1)
    broken = publish_pending(engine, platform=client, bot=bot, now=client.now(), images=Broken())
    # a reply carries no chart, whatever the source
    target = first.confirmed[0]
    with session_scope(engine) as s:
        q.enqueue_publication(
            s,
            publication=Publication(
                idempotency_key="plainbot:r", bot="plainbot", text="@plainbot yes", reply_to=target
            ),
        )
    source = Fixed(CHART)
    reply = publish_pending(engine, platform=client, bot=bot, now=client.now(), images=source)
    ids = first.confirmed + broken.confirmed + reply.confirmed
    assert len(ids) == 3 and all(_x_media(sb, i) == [] for i in ids)
    assert source.asked == []
    with session_scope(engine) as s:
        assert stored_images.post_images(s, bot="plainbot", post_ids=ids) == {}
    client.close()


def test_a_row_sent_again_after_a_crash_carries_its_kept_picture_once(
    sb: RunningSandbox, tmp_path: Path
) -> None:
    """Crash after the row went `sent` and before the create: the next run finds no post,
    sends again, and sends the picture kept with the row, not a new one. Crash after the
    create: the next run finds the post and sends nothing."""
    bot = Bot(name="crashpics", account="crashpics")
    engine = _engine(tmp_path, bot, "Lost before the create", "Landed before the crash")
    client = _x(sb, "crashpics")
    with session_scope(engine) as s:  # what the first run committed before it died
        stored_images.save_image(s, idempotency_key="crashpics:0", image=CHART)
        q.transition_publication(s, idempotency_key="crashpics:0", status=PublicationStatus.SENT)
    later = Fixed(Image(data=make_png(8, 8, seed=1), alt="a newer chart"))
    report = publish_pending(engine, platform=client, bot=bot, now=client.now(), images=later)
    assert report.requeued == 1 and len(report.confirmed) == 2
    posts = dict((text, pid) for pid, text in _posts_of(sb, "crashpics"))
    assert sorted(posts) == ["Landed before the crash", "Lost before the create"]
    assert _x_media(sb, str(posts["Lost before the create"])) == [(CHART.data, CHART.alt)]
    assert later.asked == ["Landed before the crash"]  # asked only for the row never sent

    # the second kind of crash: the create landed, the confirm did not
    with session_scope(engine) as s:
        q.enqueue_publication(
            s,
            publication=Publication(idempotency_key="crashpics:2", bot="crashpics", text="Once"),
        )
        stored_images.save_image(s, idempotency_key="crashpics:2", image=CHART)
        q.transition_publication(s, idempotency_key="crashpics:2", status=PublicationStatus.SENT)
    ref = client.publish(
        account="crashpics", text="Once", idempotency_key="crashpics:2", images=[CHART]
    )
    again = publish_pending(engine, platform=client, bot=bot, now=client.now(), images=later)
    assert (again.reconciled, again.requeued, again.confirmed) == (1, 0, [ref.id])
    assert [t for _, t in _posts_of(sb, "crashpics")].count("Once") == 1
    assert _x_media(sb, ref.id) == [(CHART.data, CHART.alt)]
    with session_scope(engine) as s:
        assert stored_images.post_image(s, bot="crashpics", post_id=ref.id) == CHART
    client.close()


def test_a_post_goes_out_on_bluesky_as_an_images_embed(sb: RunningSandbox, tmp_path: Path) -> None:
    token = sb.create_account("bluepics", niche="airlines", followers=20)
    handle = sb.handle("bluepics")
    bot = Bot(name="bluepics", account=handle)
    engine = _engine(tmp_path, bot, "Gate B12 queue, charted")
    client = BlueskyClient(
        base_url=sb.xrpc_url,
        credentials={handle: token},
        clock=SandboxClock(sb.base_url, sb.admin_token),
        home=tmp_path,
    )
    report = publish_pending(
        engine, platform=client, bot=bot, now=client.now(), images=Fixed(CHART)
    )
    [post_id] = report.confirmed
    record = json.loads(
        sb.world.store.one(
            "SELECT r.record FROM at_records r JOIN posts p ON p.id = r.post_id WHERE p.text = ?",
            ("Gate B12 queue, charted",),
        )[0]
    )
    [embedded] = record["embed"]["images"]
    assert record["embed"]["$type"] == "app.bsky.embed.images" and embedded["alt"] == CHART.alt
    blob = sb.world.store.one(
        "SELECT data, mime FROM at_blobs WHERE cid = ?", (embedded["image"]["ref"]["$link"],)
    )
    assert (bytes(blob[0]), blob[1]) == (CHART.data, "image/png")
    with session_scope(engine) as s:
        assert stored_images.post_image(s, bot="bluepics", post_id=post_id) == CHART


# ------------------------------------------------------------ choosing the source by name

T0 = datetime(2026, 3, 1, tzinfo=UTC)


def _runtime(tmp_path: Path, config: LoopConfig, clock: datetime = T0) -> Runtime:
    engine = make_engine(f"sqlite:///{tmp_path / 'rt.db'}")
    upgrade(engine)
    return Runtime(
        engine=engine,
        platform=XClient(base_url="http://127.0.0.1:9", auth=BearerAuth("t")),
        home=tmp_path,
        clock=lambda: clock,
        scrubber=Scrubber(ScrubConfig(ner=False)),
        pseudonymize=pseudonymizer("k" * 32),
        config=config,
    )


def test_the_configuration_names_each_bots_image_source(tmp_path: Path) -> None:
    rt = _runtime(tmp_path, LoopConfig(images="trend-chart", images_by_bot={"quietbot": "none"}))
    chart = rt.image_source(Bot(name="skybot", timeline="airlines"))
    assert isinstance(chart, TrendChart)
    assert rt.image_source(Bot(name="fruitbot")) is chart  # one per name
    assert isinstance(rt.image_source(Bot(name="quietbot")), NoImages)
    assert isinstance(_runtime(tmp_path, LoopConfig()).image_source(Bot(name="b")), NoImages)


@pytest.mark.parametrize(
    ("config", "where"),
    [
        (LoopConfig(images="trend-charts"), "loop.images"),
        (LoopConfig(images_by_bot={"skybot": "pie"}), "loop.images_by_bot.skybot"),
    ],
)
def test_an_unknown_image_source_fails_when_the_runtime_is_built(
    tmp_path: Path, config: LoopConfig, where: str
) -> None:
    with pytest.raises(ConfigError, match=f"{where}: unknown image source") as failed:
        _runtime(tmp_path, config)
    assert "use one of none, trend-chart" in str(failed.value)


def test_config_refuses_a_malformed_source_name() -> None:
    with pytest.raises(ValueError, match="trend-chart"):
        LoopConfig(images="Trend Chart")
    with pytest.raises(ValueError, match="bot name"):
        LoopConfig(images_by_bot={"Sky Bot": "none"})


def test_the_trend_chart_draws_the_last_day_of_the_bots_niche(tmp_path: Path) -> None:
    """The runtime's source reads the bot's timeline from the store, the last day of platform
    time only: a burst two days ago is not today's chart."""
    now = T0 + timedelta(days=3)
    rt = _runtime(tmp_path, LoopConfig(images="trend-chart"), clock=now)
    background = ["flight delayed again", "great crew today", "lost luggage queue", "window seat"]
    posts = []
    for start, word, size in (  # the old burst is the stronger: the bound, not luck, drops it
        (now - timedelta(days=2, hours=8), "volcano", 8),
        (now - timedelta(hours=8), "strike", 5),
    ):
        for h in range(8):
            for k in range(10):
                text = background[(h + k) % 4]
                if h >= 6 and k < size:
                    text = f"{word}!"
                text += f" ({word[0]}{h}k{k})"  # the store keeps one post per text
                at = start + timedelta(hours=h, minutes=5 * k)
                posts.append(Post(id=f"{word}{h}-{k}", text=text, author_id="a", created_at=at))
    with session_scope(rt.engine) as s:
        q.create_timeline(s, timeline=Timeline(name="airlines", kind=TimelineKind.LIST, source="1"))
        q.add_posts(s, posts=posts, timeline="airlines")
    bot = Bot(name="skybot", timeline="airlines")
    image = rt.image_source(bot).image_for(bot, "whatever")
    assert image is not None and image.mime == "image/png"
    assert "strike" in image.alt and "volcano" not in image.alt and "airlines" in image.alt


# ------------------------------------------------------------ the act step, end to end


def test_act_publishes_a_chosen_post_with_its_niches_trend_chart(tmp_path: Path) -> None:
    """The loop configured with `images: trend-chart`: act chooses a post with the tiny model
    and publishes it to the sandbox with a chart of the bot's niche, alt text and all."""

    eco = make_eco(tmp_path, config=replace(FAST, images_by_bot={"skybot": "trend-chart"}))
    try:
        rt = eco.spec()
        rt.fluency_config = None  # the tiny random model is no judge of fluency
        now = rt.clock()
        start = now.replace(minute=0, second=0, microsecond=0) - timedelta(hours=8)
        posts = []
        for h in range(8):  # eight full hours before now, the strike in the last
            for k in range(10):
                text = f"boarding gate queue report ({h}k{k})"
                if h == 7 and k < 6:
                    text = f"#strike <person> ({h}k{k})"
                elif h == 7 and k < 9:  # a name the scrubber took out is the most frequent
                    text = f"<person> said so ({h}k{k})"
                at = start + timedelta(hours=h, minutes=5 * k)
                posts.append(Post(id=f"t{h}-{k}", text=text, author_id="p", created_at=at))
        with session_scope(rt.engine) as s:
            q.add_posts(s, posts=posts, timeline="airlines")
            bots = {b.name: b for b in q.list_bots(s)}
        reports = act(rt, [bots["skybot"], bots["fruitbot"]], now=now)
        assert reports["skybot"].published and reports["fruitbot"].published
        [sky] = reports["skybot"].published
        [(data, alt)] = _x_media(eco.sandbox, sky)  # type: ignore[arg-type]
        assert data.startswith(b"\x89PNG") and "#strike" in alt and "airlines" in alt
        assert "person" not in alt  # the scrubber's placeholder is never the chart's news
        assert _x_media(eco.sandbox, reports["fruitbot"].published[0]) == []  # type: ignore[arg-type]
        with session_scope(rt.engine) as s:
            assert stored_images.post_image(s, bot="skybot", post_id=sky) == Image(
                data=data, mime="image/png", alt=alt
            )
    finally:
        eco.sandbox.stop()  # type: ignore[attr-defined]
