"""The architecture as a test: ``core`` knows no front, ``storage`` knows neither."""

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
FRONTS = {"slack_bolt", "slack_sdk", "fastapi", "starlette", "uvicorn", "bot"}


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
        ("core", FRONTS),
        ("storage", FRONTS | {"core"}),
    ],
)
def test_dependencies_flow_one_way(package: str, forbidden: set[str]) -> None:
    wrong = [(f, m) for f, m in _imports(package) if m.split(".")[0] in forbidden]
    assert wrong == []


def test_core_never_reads_the_wall_clock() -> None:
    offenders = [
        str(p.relative_to(ROOT))
        for p in (ROOT / "core").rglob("*.py")
        if "datetime.now(" in p.read_text() or "utcnow(" in p.read_text()
    ]
    assert offenders == ["core/clock.py"]
