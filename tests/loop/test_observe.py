"""Observe reads a post's metrics once per reward age, inside the age's tolerance window."""

from __future__ import annotations

from vibeforge.domain import Post
from vibeforge.learn.reward import get_reward
from vibeforge.loop.observe import observe
from vibeforge.store import queries as q
from vibeforge.store import session_scope


def test_each_age_is_read_once_when_due_and_a_missed_window_stays_missed(eco) -> None:  # type: ignore[no-untyped-def]
    rt = eco.spec()
    spec = get_reward("likes")  # ages 1 h, 6 h, 24 h; age a is due from a until a·1.25
    with session_scope(rt.engine) as s:
        bot = q.get_bot(s, name="skybot")

    def publish(text: str) -> str:
        ref = rt.platform.publish(account="skybot", text=text, idempotency_key=text)
        post = Post(
            id=ref.id,
            text=text,
            author_id="skybot",
            created_at=ref.created_at or rt.clock(),
            made_with_ai=True,
        )
        with session_scope(rt.engine) as s:
            q.add_posts(s, posts=[post], bot="skybot")
        return ref.id

    def step(hours: float) -> tuple[int, int]:
        eco.sandbox.advance(hours=hours)
        report = observe(rt.engine, platform=rt.platform, bot=bot, spec=spec, now=rt.clock())
        return report.read, report.rewards

    def ages(post_id: str) -> list[float]:
        with session_scope(rt.engine) as s:
            return [r.age_s for r in q.list_rewards(s, bot="skybot") if r.post_id == post_id]

    a = publish("Boarding now, window seat again")
    assert step(0.5) == (0, 0)  # a at 0.5 h: nothing due
    assert step(0.55) == (1, 1)  # 1.05 h: its 1 h read
    assert step(0.05) == (0, 0)  # 1.1 h: already read inside the window, not again
    b = publish("Gate changed twice this morning")
    assert step(1.4) == (0, 0)  # a 2.5 h; b 1.4 h: b's 1 h window (to 1.25 h) was missed
    assert step(4.0) == (1, 1)  # a 6.5 h: its 6 h read; b 5.4 h
    assert step(0.9) == (1, 1)  # b 6.3 h: its 6 h read; a's 6 h is not read twice
    assert ages(a) == [3600.0, 21600.0] and ages(b) == [21600.0]
