"""`vibeforge dashboard`: the web dashboard on loopback; changes need the dashboard token."""

from __future__ import annotations

import typer

from vibeforge.cli.common import console, console_err, open_engine, reward_age_weights, state

LOOPBACK = {"127.0.0.1", "localhost", "::1"}


def dashboard(
    ctx: typer.Context,
    host: str = typer.Option("127.0.0.1", "--host", help="Address to bind (loopback by default)."),
    port: int = typer.Option(8765, "--port", min=1, max=65535, help="Port to listen on."),
    embeddings: bool = typer.Option(
        True, "--embeddings/--no-embeddings", help="Centroid drift with the MiniLM embedder."
    ),
) -> None:
    """Serve the dashboard: bots, rewards, trends and drift, distillation, approvals, costs."""
    import socket

    import uvicorn

    from vibeforge.errors import ConfigError
    from vibeforge.web import DashboardOptions, create_app
    from vibeforge.web.security import new_token

    settings = state(ctx).settings()
    engine = open_engine(ctx)
    try:
        with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as probe:
            probe.bind((host, port))
    except OSError as exc:
        raise ConfigError(
            f"cannot listen on {host}:{port} ({exc.strerror}); pass a free --port"
        ) from None
    configured = settings.secrets.dashboard_token
    token = configured.get_secret_value() if configured is not None else new_token()
    app = create_app(
        settings,
        engine=engine,
        token=token,
        options=DashboardOptions(
            embeddings=embeddings, reward_age_weights=reward_age_weights(settings)
        ),
    )
    if host not in LOOPBACK:
        console_err.print(
            f"[bold yellow]warning:[/] binding {host}: anyone who can reach it can read the "
            "dashboard; changes still need the token"
        )
    shown = f"[{host}]" if ":" in host else host
    console.print(f"dashboard at [bold]http://{shown}:{port}/[/]", highlight=False)
    if configured is None:
        # printed once, never logged; set VIBEFORGE_DASHBOARD_TOKEN to choose your own
        console.print(f"token for approvals (this run only): {token}", highlight=False)
    else:
        console.print("log in with VIBEFORGE_DASHBOARD_TOKEN to approve posts", highlight=False)
    uvicorn.run(app, host=host, port=port, log_level="warning")
