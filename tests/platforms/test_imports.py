"""The platforms package imports inward only: no client from the protocol and registry (no
circle), and never the sandbox or the loop (they register their kinds with it)."""

from __future__ import annotations

import ast
from pathlib import Path

import vibeforge.platforms

PACKAGE = Path(vibeforge.platforms.__file__).parent
OUTWARD = ("vibeforge.sandbox", "vibeforge.loop")


def _imports(path: Path) -> set[str]:
    """Every module a file imports, at its top or inside functions."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
            found.update(f"{node.module}.{a.name}" for a in node.names)
    return found


def test_no_platform_module_imports_the_sandbox_or_the_loop() -> None:
    for path in PACKAGE.glob("*.py"):
        outward = {m for m in _imports(path) if m.startswith(OUTWARD)}
        assert not outward, f"{path.name} imports {sorted(outward)}"


def test_the_protocol_registry_and_ledger_import_no_client() -> None:
    for name in ("base.py", "registry.py", "ledger.py"):
        clients = {m for m in _imports(PACKAGE / name) if m.startswith("vibeforge.platforms.x")}
        assert not clients, f"{name} imports {sorted(clients)}"
