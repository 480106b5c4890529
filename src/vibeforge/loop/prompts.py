"""The prompt a bot writes from: its persona plus a few recent posts of its timeline."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from vibeforge.domain import Bot

DEFAULT_PERSONA = "You write short, engaging social media posts."


def instruction(context: Sequence[str]) -> str:
    if not context:
        return "Write one short post for your timeline."
    lines = "\n".join(f"- {t[:200]}" for t in context)
    return f"Recent posts on your timeline:\n{lines}\nWrite one new short post in the same vibe."


def bot_prompt(tokenizer: Any, *, bot: Bot, context: Sequence[str]) -> list[int]:
    from vibeforge.models.generate import prompt_ids

    return prompt_ids(
        tokenizer, persona=bot.persona or DEFAULT_PERSONA, instruction=instruction(context)
    )
