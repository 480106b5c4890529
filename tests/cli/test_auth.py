"""`vibeforge auth x`: the PKCE flow end to end on loopback, tokens stored outside the database."""

from __future__ import annotations

import json
import os
import re
import stat
import threading
import time
from urllib.parse import parse_qs, urlparse

import httpx

from vibeforge.cli.app import main


def test_auth_x_catches_the_callback_and_stores_tokens(
    tmp_path, monkeypatch, capsys, scripted_token_server
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("VIBEFORGE_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("VIBEFORGE_X_CLIENT_ID", "client-1")
    port = 18976
    redirect = f"http://127.0.0.1:{port}/callback"
    errors: list[BaseException] = []

    def run() -> None:
        try:
            main(
                [
                    "auth",
                    "x",
                    "skybot",
                    "--redirect-uri",
                    redirect,
                    "--token-url",
                    scripted_token_server,
                    "--timeout",
                    "60",
                ]
            )
        except SystemExit as exc:
            if exc.code:
                errors.append(exc)
        except BaseException as exc:
            errors.append(exc)

    thread = threading.Thread(target=run)
    thread.start()
    deadline = time.monotonic() + 30
    url = None
    while url is None and time.monotonic() < deadline:
        out = capsys.readouterr().out
        match = re.search(r"https://x\.com/i/oauth2/authorize\S+", out.replace("\n", ""))
        url = match.group(0) if match else None
        time.sleep(0.05)
    assert url, "the authorize URL was not printed"
    state = parse_qs(urlparse(url).query)["state"][0]
    for _ in range(100):  # the browser follows X's redirect to our loopback callback
        try:
            httpx.get(f"{redirect}?state={state}&code=good-code", timeout=5)
            break
        except httpx.ConnectError:
            time.sleep(0.05)
    thread.join(timeout=60)
    assert not errors, errors
    path = tmp_path / "home" / "tokens" / "x-skybot.json"
    assert json.loads(path.read_text())["access_token"] == "at-9"
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert (
        not (tmp_path / "home" / "vibeforge.db").exists()
        or b"at-9" not in (tmp_path / "home" / "vibeforge.db").read_bytes()
    )
