"""The store: SQLAlchemy tables, keyword-only queries, Alembic migrations.

SQLite (WAL) by default, PostgreSQL by URL. Nothing connects at import time:
`make_engine(url)` then `upgrade(engine)`, and `session_scope(engine)` around queries.
"""

from vibeforge.store.engine import (
    check_connection,
    current_revision,
    head_revision,
    make_engine,
    require_schema,
    session_scope,
    upgrade,
)

__all__ = [
    "check_connection",
    "current_revision",
    "head_revision",
    "make_engine",
    "require_schema",
    "session_scope",
    "upgrade",
]
