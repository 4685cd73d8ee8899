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
