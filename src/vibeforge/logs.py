"""Logging that never prints a secret.

Every handler installed here carries a `RedactingFilter`: registered secret values, bearer
tokens, `token=`/`password=` pairs and passwords inside URLs are masked before a record is
formatted, whatever module logged it.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable

_PATTERNS = [
    (re.compile(r"(?i)(bearer\s+)[A-Za-z0-9._~+/=%-]+"), r"\1***"),
    (
        re.compile(
            r"(?i)\b((?:access_|refresh_|auth_)?token|secret|password|api_key)=([^\s&\"']+)"
        ),
        r"\1=***",
    ),
    (re.compile(r"(?i)(\"(?:access_|refresh_)?token\"\s*:\s*\")[^\"]+"), r"\1***"),
    (re.compile(r"(://[^:/@\s]+:)[^@\s]*@"), r"\1***@"),
]
_secrets: set[str] = set()


def register_secrets(values: Iterable[str | None]) -> None:
    """Remember secret values so that any log line containing them is masked."""
    _secrets.update(v for v in values if v and len(v) >= 4)


def redact(text: str) -> str:
    for value in sorted(_secrets, key=len, reverse=True):
        text = text.replace(value, "***")
    for pattern, repl in _PATTERNS:
        text = pattern.sub(repl, text)
    return text


class RedactingFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        record.msg = redact(record.getMessage())
        record.args = None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        record.exc_info = None  # the formatter would otherwise render it again, unredacted
        if record.exc_text:
            record.exc_text = redact(record.exc_text)
        return True


def setup_logging(*, level: str = "INFO") -> None:
    """Install one Rich handler on the `vibeforge` logger (idempotent)."""
    from rich.console import Console
    from rich.logging import RichHandler

    logger = logging.getLogger("vibeforge")
    logger.setLevel(level)
    for handler in logger.handlers:
        if getattr(handler, "_vibeforge", False):
            handler.setLevel(level)
            return
    # stderr, so that --json output on stdout stays machine-readable
    handler = RichHandler(
        console=Console(stderr=True), show_path=False, rich_tracebacks=False, markup=False
    )
    handler._vibeforge = True  # type: ignore[attr-defined]
    handler.addFilter(RedactingFilter())
    handler.setLevel(level)
    logger.addHandler(handler)
    logger.propagate = False
