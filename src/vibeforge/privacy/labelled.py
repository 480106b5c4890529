"""The labelled test set (tests/privacy/data/*.jsonl) and its scoring per kind and locale.

Each record is one post with its PII marked up inline, `⟦kind:value⟧`:

    {"id": "syn-0001", "locale": "de_DE", "source": "synthetic", "split": "dev",
     "tags": ["email", "obfuscated"], "text": "Mail: ⟦email:jan(at)web.de⟧"}

Kinds are the scrubber's (`patterns.KINDS`), plus `public` for a public figure's name, which
is not PII (the post stays clean) but is counted to show how often the vocabulary keeps it,
and `id` for other personal numbers (booking references). A record may carry `vocabulary`:
author counts per word of the timeline it comes from; corpus records carry their `niche`.

Scoring:
- recall of a kind: marked values whose characters (for names: their words, without titles)
  are all inside replaced spans of any kind: what matters is that the value is gone;
- altered: the share of clean records (no PII marked) whose scrubbed text differs.
"""

from __future__ import annotations

import json
import re
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from vibeforge.privacy.patterns import Span, clean_unicode, replace_spans
from vibeforge.privacy.scrub import Scrubber
from vibeforge.privacy.vocabulary import Vocabulary

NOT_PII = frozenset({"public"})
_MARK = re.compile(r"⟦(\w+):(.*?)⟧", re.DOTALL)
_TITLES = frozenset(
    {"dr", "mr", "mrs", "ms", "miss", "mx", "sr", "sra", "jr", "frau", "herr", "mme", "pani"}
    | {"pan", "sig"}
)


@dataclass(frozen=True, slots=True)
class Labelled:
    id: str
    locale: str
    source: str
    split: str
    text: str
    spans: tuple[Span, ...]
    tags: tuple[str, ...] = ()
    niche: str | None = None
    vocabulary: dict[str, int] = field(default_factory=dict)

    @property
    def pii(self) -> tuple[Span, ...]:
        return tuple(s for s in self.spans if s.kind not in NOT_PII)

    @property
    def clean(self) -> bool:
        return not self.pii


def parse_markup(marked: str) -> tuple[str, tuple[Span, ...]]:
    """Text without the ⟦kind:value⟧ marks, and the marked spans in it."""
    text: list[str] = []
    spans = []
    pos = last = 0
    for m in _MARK.finditer(marked):
        text.append(marked[last : m.start()])
        pos += m.start() - last
        value = m.group(2)
        spans.append(Span(pos, pos + len(value), m.group(1)))
        text.append(value)
        pos += len(value)
        last = m.end()
    text.append(marked[last:])
    return "".join(text), tuple(spans)


def load(paths: Iterable[Path]) -> list[Labelled]:
    out = []
    for path in paths:
        for line in path.read_text(encoding="utf-8").splitlines():
            if not line.strip():
                continue
            row = json.loads(line)
            text, spans = parse_markup(row["text"])
            out.append(
                Labelled(
                    id=row["id"],
                    locale=row["locale"],
                    source=row["source"],
                    split=row["split"],
                    text=text,
                    spans=spans,
                    tags=tuple(row.get("tags", ())),
                    niche=row.get("niche"),
                    vocabulary=dict(row.get("vocabulary", {})),
                )
            )
    return out


def needed(text: str, span: Span) -> list[tuple[int, int]]:
    """Character ranges of a marked value that must be replaced for it to count as gone."""
    if span.kind != "person":
        return [(span.start, span.end)]
    ranges = []
    for m in re.finditer(r"[^\W\d_](?:[^\W\d_]|['’-])*", text[span.start : span.end]):
        word = m.group().lower().strip(".")
        if word not in _TITLES and (len(word) > 1 or not word.isascii()):
            ranges.append((span.start + m.start(), span.start + m.end()))
    return ranges or [(span.start, span.end)]


def covered(a: int, b: int, spans: Sequence[Span]) -> bool:
    pos = a
    for s in sorted(spans, key=lambda s: s.start):
        if s.start <= pos < s.end:
            pos = s.end
        if pos >= b:
            return True
    return pos >= b


VocabularyFor = Callable[[Labelled], Vocabulary | None]


def evaluate(
    scrubber: Scrubber,
    records: Sequence[Labelled],
    *,
    vocabulary_for: VocabularyFor | None = None,
) -> dict[str, Any]:
    """Recall per kind, per locale (names) and per tag; the altered share of clean posts."""
    found: list[list[Span]] = []
    outs: list[str] = []
    for record in records:  # one vocabulary per record: records come from many timelines
        vocab = vocabulary_for(record) if vocabulary_for else None
        spans = scrubber.spans_many([record.text], vocabulary=vocab)[0]
        found.append(spans)
        outs.append(replace_spans(clean_unicode(record.text), spans)[0])
    by_kind: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    by_locale: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    by_tag: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    clean_locale: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    misses: list[dict[str, str]] = []
    altered_ids: list[str] = []
    public = [0, 0]
    for record, spans, out in zip(records, found, outs, strict=True):
        for s in record.spans:
            hit = all(covered(a, b, spans) for a, b in needed(record.text, s))
            if s.kind in NOT_PII:
                public[0] += 1
                public[1] += not any(x.start < s.end and s.start < x.end for x in spans)
                continue
            for bucket in (by_kind[s.kind], *(by_tag[t] for t in record.tags)):
                bucket[0] += 1
                bucket[1] += hit
            if s.kind == "person":
                by_locale[record.locale][0] += 1
                by_locale[record.locale][1] += hit
            if not hit:
                misses.append({"id": record.id, "kind": s.kind, "value": _value(record, s)})
        if record.clean:
            changed = out != record.text
            clean_locale[record.locale][0] += 1
            clean_locale[record.locale][1] += changed
            if changed:
                altered_ids.append(record.id)
    clean_total = sum(n for n, _ in clean_locale.values())
    return {
        "records": len(records),
        "recall": {k: _rate(v) for k, v in sorted(by_kind.items())},
        "person_recall_by_locale": {k: _rate(v) for k, v in sorted(by_locale.items())},
        "recall_by_tag": {k: _rate(v) for k, v in sorted(by_tag.items())},
        "clean_posts": clean_total,
        "altered_share": round(len(altered_ids) / clean_total, 4) if clean_total else None,
        "altered_by_locale": {
            k: {"clean": n, "altered": a} for k, (n, a) in sorted(clean_locale.items())
        },
        "public_names": {"marked": public[0], "kept": public[1]},
        "misses": misses,
        "altered_ids": altered_ids,
    }


def _value(record: Labelled, span: Span) -> str:
    return record.text[span.start : span.end]


def _rate(counts: list[int]) -> dict[str, Any]:
    n, hit = counts
    return {"n": n, "recall": round(hit / n, 4) if n else None}
