"""The CLI sets OpenMP's wait policy to PASSIVE before torch loads, unless the user set one."""

from __future__ import annotations

import os
import subprocess
import sys

PROBE = (
    "import os, sys\n"
    "from vibeforge.cli.app import main\n"
    "try:\n"
    "    main(['--help'])\n"
    "except SystemExit:\n"
    "    pass\n"
    "print('POLICY=' + os.environ.get('OMP_WAIT_POLICY', '-'), 'torch' in sys.modules)\n"
)


def _policy(env: dict[str, str]) -> str:
    done = subprocess.run(
        [sys.executable, "-c", PROBE], capture_output=True, text=True, env=env, check=True
    )
    line = next(x for x in done.stdout.splitlines() if x.startswith("POLICY="))
    return line.removeprefix("POLICY=")


def test_passive_by_default_and_the_users_choice_wins() -> None:
    env = {k: v for k, v in os.environ.items() if k != "OMP_WAIT_POLICY"}
    assert _policy(env) == "PASSIVE False"  # set, and torch not loaded yet by then
    assert _policy({**env, "OMP_WAIT_POLICY": "ACTIVE"}) == "ACTIVE False"
