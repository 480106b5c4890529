"""The dependency rules of docs/architecture.md, checked by import-linter's contracts.

The contracts live in pyproject.toml (`[tool.importlinter]`); `make lint` runs them too. These
tests run them on the real tree, and on a copy with one forbidden import added, which must fail.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")

pytestmark = pytest.mark.skipif(
    not LINT_IMPORTS.exists(), reason="import-linter is a dev dependency: make install"
)


def _lint_imports(root: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(LINT_IMPORTS), str(root / "pyproject.toml"), "--no-cache"],
        cwd=root,
        env={"PYTHONPATH": str(root / "src"), "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_the_tree_keeps_its_contracts() -> None:
    run = _lint_imports(ROOT)
    assert run.returncode == 0, run.stdout + run.stderr
    assert "0 broken" in run.stdout


@pytest.mark.parametrize(
    ("module", "forbidden"),
    [
        ("store/queries.py", "vibeforge.models.base"),  # two ground parts meeting
        ("domain.py", "vibeforge.store"),  # the domain imports nothing of ours
        ("learn/reward.py", "vibeforge.loop.cycle"),  # an import running back up
        ("web/pages.py", "vibeforge.loop.outbox"),  # web reads the store, never the loop
        ("distill/cluster.py", "vibeforge.harness.demo"),  # the library never imports a harness
    ],
)
def test_a_forbidden_import_breaks_the_build(tmp_path: Path, module: str, forbidden: str) -> None:
    shutil.copytree(ROOT / "src", tmp_path / "src", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    target = tmp_path / "src" / "vibeforge" / module
    target.write_text(target.read_text() + f"\nimport {forbidden}  # noqa\n")
    run = _lint_imports(tmp_path)
    assert run.returncode == 1, run.stdout + run.stderr
    part = forbidden.split(".")[1]
    assert f"is not allowed to import vibeforge.{part}" in run.stdout, run.stdout


def test_an_import_circle_inside_a_part_breaks_the_build(tmp_path: Path) -> None:
    shutil.copytree(ROOT / "src", tmp_path / "src", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    # x.py imports base.py, so base importing x closes the circle this step broke
    target = tmp_path / "src" / "vibeforge" / "platforms" / "base.py"
    target.write_text(target.read_text() + "\nimport vibeforge.platforms.x  # noqa\n")
    run = _lint_imports(tmp_path)
    assert run.returncode == 1, run.stdout + run.stderr
    assert "No cycles are allowed in vibeforge.platforms" in run.stdout, run.stdout
