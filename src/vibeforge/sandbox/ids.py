"""Snowflake-like ids: milliseconds since X's epoch in the high bits, so ids grow with time and
`since_id`/`until_id` compare like X's."""

from __future__ import annotations

TWEPOCH_MS = 1_288_834_974_657
SEQUENCE_BITS = 22
API_SEQUENCE_BASE = 1 << 21  # ids minted by the API use the upper half of the sequence space


def snowflake(ms: int, sequence: int) -> int:
    return ((ms - TWEPOCH_MS) << SEQUENCE_BITS) | (sequence % (1 << SEQUENCE_BITS))


def id_time_ms(post_id: int) -> int:
    return (post_id >> SEQUENCE_BITS) + TWEPOCH_MS
