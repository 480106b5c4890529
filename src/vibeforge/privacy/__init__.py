"""Privacy: de-personalisation at the ingest boundary and the regurgitation guard's index.

    normalise_text(untrusted platform text) -> text fit to store           (patterns.py)
    Scrubber(ScrubConfig(ner=True)).scrub_many(texts, vocabulary=...) -> list[ScrubResult]
                                                                             (scrub.py)
    Vocabulary(key=...).observe_many((author, text) pairs)                  (vocabulary.py)
    pseudonymize(author_id, key=...) / pseudonymizer(key)                    (pseudonym.py)
    MemorizationIndex.open(directory).add(texts) / .check(text) -> Verdict    (memorization.py)

Names are exported lazily, so `import vibeforge.privacy` loads neither numpy nor spaCy.
See docs/privacy.md.
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    "ScrubConfig": "scrub",
    "ScrubResult": "scrub",
    "Scrubber": "scrub",
    "ScrubInputError": "scrub",
    "Vocabulary": "vocabulary",
    "pseudonymize": "pseudonym",
    "pseudonymizer": "pseudonym",
    "IndexConfig": "memorization",
    "MemorizationIndex": "memorization",
    "MemorizationIndexError": "memorization",
    "Verdict": "memorization",
    "normalise_text": "patterns",
}
__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'vibeforge.privacy' has no attribute {name!r}")
    return getattr(importlib.import_module(f"vibeforge.privacy.{module}"), name)
