"""Migrations from a blank database, on SQLite and PostgreSQL."""

from __future__ import annotations

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect, text
from sqlalchemy.orm import Session

from vibeforge.errors import StoreUnavailableError
from vibeforge.store import current_revision, head_revision, make_engine, require_schema, upgrade
from vibeforge.store.tables import Base


def test_blank_database_upgrades_to_head_and_matches_the_models(db_url: str) -> None:
    engine = make_engine(db_url)
    assert current_revision(engine) is None
    with pytest.raises(StoreUnavailableError, match="vibeforge init"):
        require_schema(engine)
    upgrade(engine)
    assert current_revision(engine) == head_revision()
    assert set(Base.metadata.tables) <= set(inspect(engine).get_table_names())
    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    assert diff == [], f"migrations and tables disagree: {diff}"
    upgrade(engine)  # a second upgrade is a no-op
    assert current_revision(engine) == head_revision()


def test_downgrade_to_base_and_back(db_url: str) -> None:
    engine = make_engine(db_url)
    upgrade(engine)
    from alembic import command
    from alembic.config import Config

    from vibeforge.store.engine import MIGRATIONS

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, "base")
    assert "bots" not in inspect(engine).get_table_names()
    upgrade(engine)
    assert "bots" in inspect(engine).get_table_names()


def test_sqlite_runs_in_wal_mode_with_foreign_keys(tmp_path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'w.db'}")
    with engine.connect() as conn:
        assert conn.execute(text("PRAGMA journal_mode")).scalar() == "wal"
        assert conn.execute(text("PRAGMA foreign_keys")).scalar() == 1


def test_unreachable_postgres_is_one_clear_error() -> None:
    engine = make_engine("postgresql://nobody@127.0.0.1:1/none")
    with pytest.raises(StoreUnavailableError, match="cannot reach the database"):
        upgrade(engine)


def test_bad_urls_are_refused() -> None:
    with pytest.raises(StoreUnavailableError, match="invalid database URL"):
        make_engine("not a url")
    with pytest.raises(StoreUnavailableError, match="unsupported database"):
        make_engine("mysql://x@localhost/db")


def _old_bot(session: Session) -> None:
    """A bot as an older schema stores it (the current BotRow has columns it lacks)."""
    session.execute(
        text(
            "INSERT INTO bots (name, persona, base_model, status, posts_per_day, created_at, "
            "updated_at) VALUES ('old', '', 'm', 'active', 4, CURRENT_TIMESTAMP, "
            "CURRENT_TIMESTAMP)"
        )
    )


def _old_publication(session: Session, *, key: str) -> None:
    """A pending outbox row of bot 'old' as an older schema stores it (the current
    PublicationRow has columns it lacks)."""
    session.execute(
        text(
            "INSERT INTO publications (idempotency_key, bot, text, status, attempts, created_at, "
            "updated_at) VALUES (:key, 'old', 'a', 'pending', 0, CURRENT_TIMESTAMP, "
            "CURRENT_TIMESTAMP)"
        ),
        {"key": key},
    )


def test_0006_adds_provenance_to_a_0005_database_and_removes_it_again(db_url: str) -> None:
    from datetime import UTC, datetime

    from alembic import command
    from alembic.config import Config

    from vibeforge.domain import Provenance
    from vibeforge.store import queries as q
    from vibeforge.store import session_scope
    from vibeforge.store.engine import MIGRATIONS

    engine = make_engine(db_url)
    upgrade(engine, revision="0005")
    with session_scope(engine) as s:  # a database in use before provenance existed
        _old_bot(s)
    assert "provenance" not in inspect(engine).get_table_names()
    upgrade(engine)
    at = datetime(2026, 8, 2, 9, 30, tzinfo=UTC)
    record = Provenance(
        platform="x",
        post_id="1900000000000000001",
        bot="old",
        publication_key="old:1",
        base_model="smollm2-135m",
        prompt_version="v2",
        published_at=at,
        ai_flag=True,
        ai_label="made_with_ai",
        adapter_version=3,
        adapter_sha256="ab" * 32,
        lineage={"elder": "e1", "elder_version": 2},
    )
    with session_scope(engine) as s:
        q.record_provenance(s, provenance=record)
    with session_scope(engine) as s:
        got = q.get_provenance(s, post_id=record.post_id)
        assert q.get_bot(s, name="old").name == "old"
    assert got.published_at == at and got.lineage == {"elder": "e1", "elder_version": 2}
    assert got.adapter_sha256 == "ab" * 32 and got.recorded_at is not None

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, "0005")
    assert "provenance" not in inspect(engine).get_table_names()
    assert current_revision(engine) == "0005"


def test_0007_gives_bots_a_platform_and_takes_it_away_again(db_url: str) -> None:
    from alembic import command
    from alembic.config import Config

    from vibeforge.domain import Bot
    from vibeforge.store import queries as q
    from vibeforge.store import session_scope
    from vibeforge.store.engine import MIGRATIONS

    engine = make_engine(db_url)
    upgrade(engine, revision="0006")
    with session_scope(engine) as s:  # a bot from before a fleet could mix platforms
        _old_bot(s)
    assert "platform" not in {c["name"] for c in inspect(engine).get_columns("bots")}
    upgrade(engine)
    with session_scope(engine) as s:
        q.create_bot(s, bot=Bot(name="sky", platform="bsky"))
    with session_scope(engine) as s:
        # the old bot is on the `platform:` section's platform; the new one names its own
        assert {b.name: b.platform for b in q.list_bots(s)} == {"old": None, "sky": "bsky"}

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, "0006")
    assert "platform" not in {c["name"] for c in inspect(engine).get_columns("bots")}
    assert current_revision(engine) == "0006"
    with engine.connect() as conn:
        assert sorted(conn.execute(text("SELECT name FROM bots")).scalars()) == ["old", "sky"]


def test_0008_keeps_publication_images_and_drops_them_with_their_row(db_url: str) -> None:
    from alembic import command
    from alembic.config import Config

    from vibeforge.domain import Image
    from vibeforge.store import images as stored_images
    from vibeforge.store import session_scope
    from vibeforge.store.engine import MIGRATIONS

    engine = make_engine(db_url)
    upgrade(engine, revision="0007")
    assert "publication_images" not in inspect(engine).get_table_names()
    with session_scope(engine) as s:  # an outbox row from before images
        _old_bot(s)
        _old_publication(s, key="k1")
    upgrade(engine)
    picture = Image(data=b"\x89PNG\r\n\x1a\n" + bytes(range(256)), mime="image/png", alt="chart")
    with session_scope(engine) as s:
        assert stored_images.image_of(s, idempotency_key="k1") is None
        stored_images.save_image(s, idempotency_key="k1", image=picture)
    with session_scope(engine) as s:
        assert stored_images.image_of(s, idempotency_key="k1") == picture  # bytes round-trip
    with engine.begin() as conn:  # the image goes with its outbox row
        conn.execute(text("DELETE FROM publications WHERE idempotency_key = 'k1'"))
    with engine.connect() as conn:
        assert conn.execute(text("SELECT COUNT(*) FROM publication_images")).scalar() == 0

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, "0007")
    assert "publication_images" not in inspect(engine).get_table_names()
    assert current_revision(engine) == "0007"


def test_0009_gives_publications_a_quote_target_and_takes_it_away_again(db_url: str) -> None:
    from alembic import command
    from alembic.config import Config

    from vibeforge.domain import Publication
    from vibeforge.store import queries as q
    from vibeforge.store import session_scope
    from vibeforge.store.engine import MIGRATIONS

    engine = make_engine(db_url)
    upgrade(engine, revision="0008")
    assert "quote_of" not in {c["name"] for c in inspect(engine).get_columns("publications")}
    with session_scope(engine) as s:  # an outbox row from before quotes
        _old_bot(s)
        _old_publication(s, key="k1")
    upgrade(engine)
    with session_scope(engine) as s:
        q.enqueue_publication(
            s, publication=Publication(idempotency_key="k2", bot="old", text="b", quote_of="42")
        )
    with session_scope(engine) as s:
        rows = {p.idempotency_key: p.quote_of for p in q.list_publications(s)}
    assert rows == {"k1": None, "k2": "42"}

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, "0008")
    assert "quote_of" not in {c["name"] for c in inspect(engine).get_columns("publications")}
    assert current_revision(engine) == "0008"
    with engine.connect() as conn:
        keys = conn.execute(text("SELECT idempotency_key FROM publications")).scalars()
        assert sorted(keys) == ["k1", "k2"]
