"""`vibeforge auth x HANDLE`: OAuth 2.0 user-context authorization with PKCE.

Prints the authorize URL, catches the redirect on a loopback port (or takes the pasted URL
with --paste), exchanges the code with its verifier, and stores the tokens (refreshed later with
offline.access) in $VIBEFORGE_HOME/tokens/x-HANDLE.json, mode 0600 — never in the database.
"""

from __future__ import annotations

import typer

from vibeforge.cli.common import console, ensure_home, state
from vibeforge.paths import Home

app = typer.Typer(help="Authorize bot accounts on a platform.", no_args_is_help=True)


@app.command("x")
def auth_x(
    ctx: typer.Context,
    handle: str = typer.Argument(..., help="The bot's X handle."),
    redirect_uri: str = typer.Option(
        "http://127.0.0.1:8976/callback", "--redirect-uri", help="Registered loopback callback."
    ),
    authorize_url: str = typer.Option("https://x.com/i/oauth2/authorize", "--authorize-url"),
    token_url: str = typer.Option("https://api.x.com/2/oauth2/token", "--token-url"),
    paste: bool = typer.Option(False, "--paste", help="Paste the redirected URL instead."),
    timeout: float = typer.Option(600.0, "--timeout", help="Seconds to wait for the callback."),
) -> None:
    """Authorize HANDLE for posting (OAuth 2.0 PKCE) and store its tokens outside the database."""
    from vibeforge.errors import ConfigError
    from vibeforge.platforms.auth import TokenFile, pkce_finish, pkce_start

    settings = state(ctx).settings()
    home = ensure_home(settings.home)
    cid, csec = settings.secrets.x_client_id, settings.secrets.x_client_secret
    if cid is None:
        raise ConfigError("set VIBEFORGE_X_CLIENT_ID (your X app's OAuth 2.0 client id)")
    start = pkce_start(
        client_id=cid.get_secret_value(), redirect_uri=redirect_uri, authorize_url=authorize_url
    )
    console.print(f"Open this URL, signed in as @{handle}, and authorize the app:\n{start.url}")
    if paste:
        callback = typer.prompt("Paste the URL your browser was redirected to")
    else:
        callback = _wait_for_callback(redirect_uri, timeout=timeout)
    token = pkce_finish(
        start=start,
        callback_url=callback,
        client_id=cid.get_secret_value(),
        client_secret=csec.get_secret_value() if csec else None,
        token_url=token_url,
    )
    store = TokenFile(Home(home).token_file("x", handle))
    store.save(token)
    console.print(f"stored tokens for @{handle} in {store.path} (refreshed automatically)")


def _wait_for_callback(redirect_uri: str, *, timeout: float) -> str:
    """Serve one request on the redirect URI's loopback port; return the full callback URL."""
    from http.server import BaseHTTPRequestHandler, HTTPServer
    from urllib.parse import urlparse

    from vibeforge.errors import VibeforgeError

    target = urlparse(redirect_uri)
    if target.hostname not in ("127.0.0.1", "localhost", "::1"):
        raise VibeforgeError("the redirect URI must be on loopback, or use --paste")
    got: list[str] = []

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: object) -> None:
            pass

        def do_GET(self) -> None:
            got.append(f"{target.scheme}://{target.netloc}{self.path}")
            body = b"vibeforge: authorization received, you can close this tab."
            self.send_response(200)
            self.send_header("Content-Type", "text/plain")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    with HTTPServer((target.hostname or "127.0.0.1", target.port or 80), Handler) as server:
        server.timeout = timeout
        server.handle_request()
    if not got:
        raise VibeforgeError(f"no callback within {timeout:.0f} s; retry, or use --paste")
    return got[0]
