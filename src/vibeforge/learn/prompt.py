"""Every prompt the system writes from, built from one versioned template.

    bot      system line: the bot's persona (the template's default when it has none); user
             line: a request for one post, showing a few posts of its timeline when there are
             any (scrubbing placeholders removed, each cut to `context_chars`)
    elder    system line: the niche tag(s), then the niches in words, so one elder learns each
             niche of its subset as a conditional distribution; user line as a bot's
    render   the tokenizer's chat template where it has one, else plain text ending in "Post:"
    echo     the guard's pattern for a post that repeats the prompt's wording, derived from the
             template's instructions and niche tag (so it follows any change to them)

SFT (learn.vibe), act, RL sampling, the distill datasets, elder training and spawn all build
their prompts here, so an adapter is trained on exactly the prompts it is served with. The
template's version is stored in the metrics of the adapters and elders trained on it.
"""

from __future__ import annotations

import random
import re
import string
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from vibeforge.privacy.patterns import postable

# v1: SFT trained under its own system line with no timeline context, unlike act and RL
PROMPT_VERSION = "v2"
# words in a row at the start or end of an instruction's sentence that make a post an echo:
# an echo repeats how a sentence opens ("Write one short post") or closes ("in the same
# vibe"); four-word runs from the middle ("short post in the") occur in ordinary posts
ECHO_WORDS = 4


@dataclass(frozen=True, slots=True, kw_only=True)
class PromptTemplate:
    version: str
    # a bot without a persona gets this system line: without one, chat templates insert their
    # own long default (SmolLM2's is 20 tokens), which every prompt and example would pay for
    persona: str
    instruction: str  # user line when no timeline post is shown
    context_instruction: str  # user line showing timeline posts: {posts}, the context lines
    context_line: str  # one shown post: {post}
    context_chars: int  # a shown post is cut to this many characters
    niche_tag: str  # {niches}: the niche names joined with ", "
    elder_persona: str  # {tag}: the niche tag; {topics}: the niches in words, " and "-joined
    plain: str  # tokenizers without a chat template: {persona}, {instruction}
    # words a model swaps when it echoes an instruction ("Write a short tweet")
    echo_variants: tuple[tuple[str, tuple[str, ...]], ...] = ()

    def __post_init__(self) -> None:
        need = {
            "context_instruction": {"posts"},
            "context_line": {"post"},
            "niche_tag": {"niches"},
            "elder_persona": {"tag", "topics"},
            "plain": {"persona", "instruction"},
        }
        for name, fields in need.items():
            found = {f for _, f, _, _ in string.Formatter().parse(getattr(self, name)) if f}
            if found != fields:
                raise ValueError(f"{name} must use exactly {sorted(fields)}, not {sorted(found)}")
        if self.context_chars < 1:
            raise ValueError(f"context_chars ({self.context_chars}) must be >= 1; try 200")


TEMPLATE = PromptTemplate(
    version=PROMPT_VERSION,
    persona="You write short, engaging social media posts.",
    instruction="Write one short post for your timeline.",
    context_instruction=(
        "Recent posts on your timeline:\n{posts}\nWrite one new short post in the same vibe."
    ),
    context_line="- {post}",
    context_chars=200,
    niche_tag="[niche: {niches}]",
    elder_persona="{tag} You post on social media about {topics}.",
    plain="{persona}\n\n{instruction}\nPost:",
    echo_variants=(("one", ("a",)), ("new", ("more",)), ("post", ("message", "tweet"))),
)


def instruction(context: Sequence[str] = (), *, template: PromptTemplate = TEMPLATE) -> str:
    """The user line: the request for a post, with the shown timeline posts if any."""
    shown = [t[: template.context_chars] for t in (postable(c) for c in context) if t]
    if not shown:
        return template.instruction
    lines = "\n".join(template.context_line.format(post=t) for t in shown)
    return template.context_instruction.format(posts=lines)


def niche_tag(niches: Sequence[str], *, template: PromptTemplate = TEMPLATE) -> str:
    return template.niche_tag.format(niches=", ".join(niches))


def elder_persona(niches: Sequence[str], *, template: PromptTemplate = TEMPLATE) -> str:
    """The elder's system line: its niche tag(s), then the niches in words."""
    topics = " and ".join(n.replace("_", " ").replace("-", " ") for n in niches)
    return template.elder_persona.format(tag=niche_tag(niches, template=template), topics=topics)


def render(
    tokenizer: Any, *, persona: str, instruction: str, template: PromptTemplate = TEMPLATE
) -> list[int]:
    """Token ids of a system line (the template's persona when empty) and a user line.

    Models without a chat template (base, not instruct, checkpoints) get the plain-text form.
    """
    persona = persona or template.persona
    if not getattr(tokenizer, "chat_template", None):
        text = template.plain.format(persona=persona, instruction=instruction)
        return [int(i) for i in tokenizer(text)["input_ids"]]
    messages = [
        {"role": "system", "content": persona},
        {"role": "user", "content": instruction},
    ]
    out = tokenizer.apply_chat_template(messages, add_generation_prompt=True, tokenize=True)
    ids = out["input_ids"] if hasattr(out, "keys") else out
    return [int(i) for i in ids]


def bot_prompt(
    tokenizer: Any,
    *,
    persona: str = "",
    context: Sequence[str] = (),
    template: PromptTemplate = TEMPLATE,
) -> list[int]:
    """A bot's prompt: its persona, and the timeline posts it is shown (newest first)."""
    return render(
        tokenizer,
        persona=persona,
        instruction=instruction(context, template=template),
        template=template,
    )


def elder_prompt(
    tokenizer: Any,
    *,
    niches: Sequence[str],
    context: Sequence[str] = (),
    template: PromptTemplate = TEMPLATE,
) -> list[int]:
    """An elder's prompt: the niche tag(s) in the system line, optional timeline posts."""
    return render(
        tokenizer,
        persona=elder_persona(niches, template=template),
        instruction=instruction(context, template=template),
        template=template,
    )


def sample_context(timeline: Sequence[str], *, k: int, rng: random.Random) -> list[str]:
    """`k` posts drawn from `timeline`, kept in its order (newest first, as act shows them)."""
    picked = sorted(rng.sample(range(len(timeline)), min(k, len(timeline))))
    return [timeline[i] for i in picked]


@lru_cache(maxsize=8)
def _tag_pattern(template: PromptTemplate) -> re.Pattern[str]:
    prefix, _, suffix = template.niche_tag.partition("{niches}")
    # a model may drop or double the spaces of the tag it echoes
    return re.compile(
        re.escape(prefix.strip()) + r"\s*(?s:.*?)" + re.escape(suffix.strip()) + r"\s*"
    )


def strip_tags(text: str, *, template: PromptTemplate = TEMPLATE) -> str:
    """An elder's post without niche tags it echoed (they are control text, never content)."""
    return _tag_pattern(template).sub("", text).strip()


def _sentences(fmt: str) -> list[list[str]]:
    """The words of each sentence of a format string's literal text (placeholders split it)."""
    out = []
    for literal, _, _, _ in string.Formatter().parse(fmt):
        for sentence in re.split(r"[\n.!?:;]+", literal):
            words = re.findall(r"\w+", sentence)
            if len(words) >= 2:  # one word alone ("Post") would flag ordinary posts
                out.append(words)
    return out


@lru_cache(maxsize=8)
def echo_pattern(template: PromptTemplate = TEMPLATE) -> re.Pattern[str]:
    """What the guard's echo check looks for: the opening and the closing `ECHO_WORDS` words
    of every sentence of the template's instructions (with its echo variants), and the
    literal start of its niche tag."""
    variants = {w.casefold(): (w, *alts) for w, alts in template.echo_variants}
    phrases: dict[tuple[str, ...], None] = {}  # ordered: the earliest phrase wins a tie
    for fmt in (template.instruction, template.context_instruction):
        for words in _sentences(fmt):
            phrases[tuple(words[:ECHO_WORDS])] = None
            phrases[tuple(words[-ECHO_WORDS:])] = None
    parts = []
    for phrase in phrases:
        alts = [
            "(?:" + "|".join(re.escape(v) for v in variants.get(w.casefold(), (w,))) + ")"
            for w in phrase
        ]
        parts.append(r"\b" + r"\W+".join(alts) + r"\b")
    tag = template.niche_tag.partition("{niches}")[0].strip()
    if tag:
        parts.append(re.escape(tag))
    return re.compile("|".join(parts), re.IGNORECASE)
