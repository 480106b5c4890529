"""Engines, sessions and schema upgrades. Nothing is connected until a factory is called."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event, inspect, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, DatabaseError, SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from vibeforge.config import redact_url
from vibeforge.errors import StoreUnavailableError

MIGRATIONS = Path(__file__).parent / "migrations"


def make_engine(url: str, *, echo: bool = False) -> Engine:
    """An engine for `url`; SQLite files get WAL, foreign keys and a busy timeout."""
    try:
        parsed = make_url(url)
        parsed.port  # noqa: B018  (a port that is not a number raises here, not at connect)
    except (ArgumentError, ValueError) as exc:
        raise StoreUnavailableError(
            f"invalid database URL {redact_url(url)!r} ({exc}); e.g. "
            "sqlite:///path/to/vibeforge.db or postgresql://user@host:5432/vibeforge"
        ) from None
    kwargs: dict[str, Any] = {"echo": echo}
    if parsed.get_backend_name() == "sqlite":
        database = parsed.database
        if database and database != ":memory:":
            parent = Path(database).parent
            try:
                parent.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise StoreUnavailableError(
                    f"cannot create the database folder {parent}: {exc.strerror}; "
                    "set VIBEFORGE_HOME to a writable folder"
                ) from None
        kwargs["connect_args"] = {"timeout": 30}
    elif parsed.get_backend_name() == "postgresql":
        if parsed.drivername == "postgresql":
            parsed = parsed.set(drivername="postgresql+psycopg")
        kwargs["pool_pre_ping"] = True
        kwargs["connect_args"] = {"connect_timeout": 10}
    else:
        raise StoreUnavailableError(
            f"unsupported database {parsed.get_backend_name()!r}: use sqlite:/// or postgresql://"
        )
    try:
        engine = create_engine(parsed, **kwargs)
    except (ImportError, ModuleNotFoundError) as exc:
        raise StoreUnavailableError(
            f"the driver for {parsed.drivername} is missing ({exc}); "
            "install it with: pip install 'vibeforge[postgres]'"
        ) from None
    if engine.dialect.name == "sqlite":
        event.listen(engine, "connect", _sqlite_pragmas)
    return engine


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")  # readers never block the writer; crash-safe
    cur.execute("PRAGMA synchronous=NORMAL")  # durable against process crashes under WAL
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA busy_timeout=30000")
    cur.close()


def check_connection(engine: Engine) -> None:
    """Raise StoreUnavailableError with one clear line if the database cannot be reached."""
    try:
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
    except DatabaseError as exc:  # unreachable (OperationalError), or not a database at all
        reason = str(exc.orig).strip().splitlines()[0] if exc.orig else str(exc)
        where = redact_url(str(engine.url))
        if "not a database" in reason:
            raise StoreUnavailableError(
                f"{where} is not a SQLite database ({reason}): restore it from a backup or "
                "point database_url elsewhere"
            ) from None
        raise StoreUnavailableError(f"cannot reach the database at {where}: {reason}") from None


def upgrade(engine: Engine, *, revision: str = "head") -> None:
    """Apply Alembic migrations up to `revision` (a blank database gets the whole schema)."""
    from alembic import command
    from alembic.config import Config

    check_connection(engine)
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        try:
            command.upgrade(cfg, revision)
        except SQLAlchemyError as exc:
            raise StoreUnavailableError(f"database upgrade failed: {exc}") from exc


def head_revision() -> str:
    from alembic.config import Config
    from alembic.script import ScriptDirectory

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    head = ScriptDirectory.from_config(cfg).get_current_head()
    assert head is not None
    return head


def current_revision(engine: Engine) -> str | None:
    from alembic.runtime.migration import MigrationContext

    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def require_schema(engine: Engine) -> None:
    """Fail clearly when the schema has not been created yet."""
    check_connection(engine)
    if not inspect(engine).has_table("bots"):
        raise StoreUnavailableError(
            "the database has no vibeforge schema yet; "
            "run 'vibeforge init' or 'vibeforge db upgrade'"
        )


def session_factory(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(engine, expire_on_commit=False)


@contextmanager
def session_scope(engine: Engine) -> Iterator[Session]:
    """A session that commits on success and rolls back on any error."""
    with session_factory(engine)() as session:
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise
