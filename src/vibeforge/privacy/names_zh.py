"""Person names in Han script, from jieba's part-of-speech tags (`nr`) and the common surnames.

Chinese is written without spaces, so the Latin rules of `names.py` cannot see "王伟" in
"昨天和王伟一起吃饭". jieba (PyPI, MIT; its dictionary ships with the package) segments and
tags words; a word it tags as a person (`nr`) is kept as a name only if it starts with one of
the common surnames and is 2-4 characters long, because jieba also tags everyday words
("谢谢", "喝咖啡", "华为") as `nr`; and a word frequent in its dictionary is a word, not a name.
jieba loads once (~2 s) on the first text with Han characters.
"""

from __future__ import annotations

import re
import threading
from typing import Any

from vibeforge.privacy.name_lists import CHINESE_SURNAMES
from vibeforge.privacy.patterns import Span

_HAN = re.compile(r"[\u4e00-\u9fff]")
_HAN_RUN = re.compile(r"[\u4e00-\u9fff]+")
MAX_WORD_FREQ = 2000  # jieba dictionary frequency above which a word is vocabulary ("谢谢")
_lock = threading.Lock()
_jieba: dict[str, Any] = {}


def _tagger() -> tuple[Any, Any]:
    with _lock:
        if not _jieba:
            import logging

            import jieba
            import jieba.posseg

            jieba.setLogLevel(logging.WARNING)
            jieba.initialize()
            _jieba["posseg"], _jieba["freq"] = jieba.posseg, jieba.dt.FREQ
    return _jieba["posseg"], _jieba["freq"]


def han_name_spans(text: str) -> list[Span]:
    """Spans of Chinese person names in Han script (none when the text has no Han)."""
    if _HAN.search(text) is None:
        return []
    posseg, freq = _tagger()
    spans = []
    for run in _HAN_RUN.finditer(text):
        pos = run.start()
        for pair in posseg.cut(run.group()):
            word, flag = pair.word, pair.flag
            start = pos
            pos += len(word)
            if not flag.startswith("nr") or not 2 <= len(word) <= 4:
                continue
            # "祝杨帆" is segmented as one word: the name starts at its first surname
            for offset, ch in enumerate(word[:2]):
                name = word[offset:]
                if ch in CHINESE_SURNAMES and len(name) >= 2 and freq.get(name, 0) < MAX_WORD_FREQ:
                    spans.append(Span(start + offset, start + len(word), "person", 0.9))
                    break
    return spans
