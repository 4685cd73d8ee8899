"""The architecture as a test: ``core`` knows no front and reaches the world only through its ports
(the adapters — SSH, git, HTTP clients — live in ``bot``); ``storage`` knows neither."""

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
FRONTS = {"slack_bolt", "slack_sdk", "fastapi", "starlette", "uvicorn", "bot"}
WORLD = {"paramiko", "requests", "subprocess"}  # the adapters' business, behind core's ports


def _imports(package: str) -> list[tuple[str, str]]:
    found = []
    for path in (ROOT / package).rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Import):
                found += [(str(path.relative_to(ROOT)), a.name) for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                found.append((str(path.relative_to(ROOT)), node.module))
    return found


@pytest.mark.parametrize(
    ("package", "forbidden"),
    [
        ("core", FRONTS | WORLD),
        ("storage", FRONTS | WORLD | {"core"}),
    ],
)
def test_dependencies_flow_one_way(package: str, forbidden: set[str]) -> None:
    wrong = [(f, m) for f, m in _imports(package) if _forbidden(m.split(".")[0], forbidden)]
    assert wrong == []


def _forbidden(top: str, forbidden: set[str]) -> bool:
    return top in forbidden or top.startswith("slack_")  # every Slack package, not only two


def test_core_never_reads_the_wall_clock() -> None:
    offenders = [
        str(p.relative_to(ROOT))
        for p in (ROOT / "core").rglob("*.py")
        if "datetime.now(" in p.read_text() or "utcnow(" in p.read_text()
    ]
    assert offenders == ["core/clock.py"]


def test_no_module_imports_itself_back() -> None:
    """Every import statement counts, inside a function or for type checking alike: a module
    that needs another's parts must not be needed by it in turn — in any package."""
    known = _application()
    graph = {name: set(_project_imports(path, name, known)) for name, path in known.items()}
    cycles = [cycle for name in sorted(graph) if (cycle := _cycle_from(name, graph))]
    assert cycles == []


def _application() -> dict[str, Path]:
    return {**_modules("bot"), **_modules("core"), **_modules("storage")}


def _modules(package: str) -> dict[str, Path]:
    found = {}
    for path in (ROOT / package).rglob("*.py"):
        parts = path.relative_to(ROOT).with_suffix("").parts
        found[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return found


def _project_imports(path: Path, name: str, known: dict[str, Path]) -> list[str]:
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        targets: list[str] = []
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                up = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*up, base] if base else up)
            targets = [base, *(f"{base}.{alias.name}" for alias in node.names)]
        for target in targets:
            while target and target not in known:
                target = target.rpartition(".")[0]
            if target and target != name and not name.startswith(target + "."):
                found.append(target)
    return found


def _cycle_from(start: str, graph: dict[str, set[str]]) -> list[str] | None:
    """A path of imports from ``start`` back to it, if there is one."""
    paths = [[start]]
    seen = {start}
    while paths:
        path = paths.pop()
        for following in sorted(graph[path[-1]]):
            if following == start:
                return [*path, start]
            if following not in seen:
                seen.add(following)
                paths.append([*path, following])
    return None
