"""A settings validation error as one line that names the field and says how to fix it:

    vibeforge.yaml: loop.rl_group_size: must be >= 2 (got 1); set loop.rl_group_size: 4

The fix offered is the field's default, found by walking the validated model along the error's
location (nested pydantic models and pydantic dataclasses alike).
"""

from __future__ import annotations

import types
import typing
from typing import Any

from pydantic import ValidationError
from pydantic.fields import FieldInfo
from pydantic_core import PydanticUndefined

_BOUNDS = {
    "greater_than_equal": ("ge", ">="),
    "greater_than": ("gt", ">"),
    "less_than_equal": ("le", "<="),
    "less_than": ("lt", "<"),
}
_UNKNOWN = ("extra_forbidden", "unexpected_keyword_argument")


def format_validation(
    err: ValidationError, *, root: type | None = None, source: str | None = None, prefix: str = ""
) -> str:
    """`source: loc: message (got value); set loc: default`, for the first of the errors.

    `root` is the model that was validated (for the fix and the known field names); `prefix`
    goes before the location when the model validated is itself a section (`distill`).
    """
    first = err.errors()[0]
    parts = [str(p) for p in first["loc"]]
    loc = ".".join([prefix, *parts] if prefix else parts) or "(top level)"
    table, info = _walk(root, first["loc"]) if root is not None else (None, None)
    kind = first["type"]
    got = first.get("input")
    shown = "" if isinstance(got, dict | list) else f" (got {got!r})"
    fix = ""
    if kind in _BOUNDS:
        key, sign = _BOUNDS[kind]
        msg = f"must be {sign} {_yaml(first.get('ctx', {}).get(key))}"
    elif kind in _UNKNOWN:
        known = f"; known: {', '.join(table)}" if table else ""
        msg, shown = f"unknown setting{known}", ""
    elif kind == "missing":
        msg, shown = "is required", ""
    else:
        msg = first["msg"].removeprefix("Value error, ").replace("Input should be", "must be", 1)
    if info is not None and kind not in _UNKNOWN and _scalar(info.default):
        fix = f"; set {loc}: {_yaml(info.default)}"
    more = f" (and {err.error_count() - 1} more)" if err.error_count() > 1 else ""
    head = f"{source}: " if source else ""
    return f"{head}{loc}: {msg}{shown}{fix}{more}"


def _fields(tp: Any) -> dict[str, FieldInfo] | None:
    table = getattr(tp, "__pydantic_fields__", None) if isinstance(tp, type) else None
    return table if isinstance(table, dict) else None


def _section_type(annotation: Any) -> Any:
    """The model inside an annotation (`DistillConfig`, or `X | None`), if any."""
    if _fields(annotation) is not None:
        return annotation
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        for arg in typing.get_args(annotation):
            if _fields(arg) is not None:
                return arg
    return None


def _walk(
    root: type, loc: tuple[int | str, ...]
) -> tuple[dict[str, FieldInfo] | None, FieldInfo | None]:
    """The field table holding the last part of `loc`, and that field, where they resolve."""
    current: Any = root
    for i, part in enumerate(loc):
        table = _fields(current)
        if table is None or not isinstance(part, str):
            return None, None
        if i == len(loc) - 1:
            return table, table.get(part)
        info = table.get(part)
        if info is None:
            return None, None
        current = _section_type(info.annotation)
    return None, None


def _scalar(value: Any) -> bool:
    return value is not PydanticUndefined and (
        value is None or isinstance(value, int | float | str)
    )


def _yaml(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    return f"{value:g}" if isinstance(value, float) else str(value)
