"""Logging never prints a secret, whatever module logs it and however it is formatted."""

from __future__ import annotations

import logging

from vibeforge.config import load_settings
from vibeforge.logs import RedactingFilter, redact, setup_logging


def test_registered_secrets_and_patterns_are_masked(tmp_path, capsys) -> None:
    load_settings(
        env={
            "VIBEFORGE_CONFIG": str(tmp_path / "none.yaml"),
            "VIBEFORGE_HOME": str(tmp_path),
            "VIBEFORGE_X_CLIENT_SECRET": "cs-0123456789",
            "VIBEFORGE_DATABASE_URL": "postgresql://bob:pg-pass-77@db/x",
        }
    )
    setup_logging(level="DEBUG")
    log = logging.getLogger("vibeforge.test")
    log.info("client secret is %s", "cs-0123456789")
    log.info("GET /2/users/me Authorization: Bearer AAAAtoken123")
    log.info("refresh with refresh_token=r-abc&client_id=1")
    log.info('oauth reply {"access_token": "at-xyz", "expires_in": 7200}')
    log.info("connecting to postgresql://bob:pg-pass-77@db/x")
    try:
        raise ValueError("boom with cs-0123456789")
    except ValueError:
        log.exception("failed")
    err = capsys.readouterr().err
    for secret in ("cs-0123456789", "AAAAtoken123", "r-abc", "at-xyz", "pg-pass-77"):
        assert secret not in err
    assert "client secret is ***" in err
    assert "boom with ***" in err  # the traceback is logged, redacted


def test_filter_on_foreign_handlers() -> None:
    record = logging.LogRecord("x", logging.INFO, __file__, 1, "token=%s", ("abc123",), None)
    assert RedactingFilter().filter(record)
    assert record.getMessage() == "token=***"
    assert redact("https://u:p4ss@host/") == "https://u:***@host/"
