"""engine/ never imports textual or tui: the daemon must run without loading Textual."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

from tests.conftest import ROOT


def test_no_engine_module_imports_textual_or_tui() -> None:
    offenders = []
    for path in sorted((ROOT / "engine").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names: list[str] = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                names = [node.module]
            offenders += [
                f"{path.relative_to(ROOT)}: {n}"
                for n in names
                if n.split(".")[0] in {"textual", "tui"}
            ]
    assert not offenders


def test_importing_every_engine_module_loads_no_textual() -> None:
    modules = sorted(
        ".".join(p.relative_to(ROOT).with_suffix("").parts)
        for p in (ROOT / "engine").rglob("*.py")
        if p.name != "__main__.py"
    )
    code = (
        "import importlib, sys\n"
        f"for m in {modules!r}: importlib.import_module(m)\n"
        "bad = sorted(m for m in sys.modules if m.split('.')[0] in ('textual', 'tui'))\n"
        "print(','.join(bad))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == ""
    assert len(modules) > 10


def test_import_linter_contract_holds() -> None:
    lint = ROOT / ".venv" / "bin" / "lint-imports"
    exe = str(lint) if lint.exists() else "lint-imports"
    result = subprocess.run([exe], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "3 kept, 0 broken" in result.stdout  # pyproject.toml has three contracts now


def strongly_connected_components(graph: dict[str, set[str]]) -> list[set[str]]:
    """Tarjan's algorithm (iterative): the groups of modules that import each other."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    on_stack: set[str] = set()
    stack: list[str] = []
    found: list[set[str]] = []
    for root in sorted(graph):
        if root in index:
            continue
        work = [(root, iter(sorted(graph[root])))]
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        while work:
            node, edges = work[-1]
            child = next(edges, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph[child]))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = set()
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.add(member)
                    if member == node:
                        break
                found.append(component)
    return found


def test_no_import_cycle_inside_tui_or_engine() -> None:
    """Every import counts, also those inside functions (the screens opened lazily, the
    writers and transports loaded on demand) and under TYPE_CHECKING: the app imports its
    screens, no screen imports the app; a package's registry imports its members, no
    member imports the registry."""
    import grimp  # import-linter's graph builder

    built = grimp.build_graph("tui", "engine")
    graph = {m: set(built.find_modules_directly_imported_by(m)) for m in built.modules}
    assert len(graph) > 80 and "tui.app" in graph and "engine.service" in graph
    assert graph["tui.app"] >= {"tui.screens.configs", "tui.screens.protocol"}
    loops = [sorted(c) for c in strongly_connected_components(graph) if len(c) > 1]
    assert loops == []


def test_the_scc_check_finds_a_loop() -> None:
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}, "e": set()}
    components = strongly_connected_components(graph)
    assert sorted(sorted(c) for c in components if len(c) > 1) == [["a", "b", "c"]]
    assert len(components) == 3


def test_listing_configs_loads_only_what_it_needs(tmp_path: Path) -> None:
    """Issue 15, start-up: `buchex config list` imports no SQLAlchemy, paramiko, writer,
    no lock library and no plug-in scan (importlib.metadata); a run imports them when it
    needs them."""
    home = tmp_path / "home"
    code = (
        "import sys\n"
        "from engine.cli import main\n"
        f"try:\n    main(['--home', {str(home)!r}, 'config', 'list'])\n"
        "except SystemExit as exc:\n    assert not exc.code, exc.code\n"
        "heavy = ('sqlalchemy', 'paramiko', 'filelock', 'importlib.metadata',\n"
        "         'engine.export', 'engine.formats.datev', 'engine.transports')\n"
        "print('GELADEN:' + ','.join(sorted(m for m in sys.modules if m.startswith(heavy))))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
    assert "Keine Schnittstellen" in result.stdout
    assert result.stdout.strip().splitlines()[-1] == "GELADEN:"
