"""The code's shape, measured the same way every time: lines per module in ``bot``, ``core`` and
``storage``, per function and per class there and in ``tests`` and ``bench`` (migrations aside),
read from their syntax trees.

``tests/test_shape.py`` holds the limits; ``python -m tests.shape`` prints the figures that
docs/architecture.md records, so anyone can measure a checkout the way the redesign was measured.
"""

import ast
import math
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("bot", "core", "storage")
EVERYWHERE = (*PACKAGES, "tests", "bench")  # where functions and classes are held to their limits


@dataclass(frozen=True)
class Piece:
    """A module, function or class, and how many lines it spans."""

    where: str
    name: str
    lines: int


def modules(packages: tuple[str, ...] = PACKAGES) -> list[Path]:
    """Every module of the application; migrations are generated history, not design."""
    return sorted(
        path
        for package in packages
        for path in (ROOT / package).rglob("*.py")
        if "migrations" not in path.relative_to(ROOT).parts
    )


def module_lengths() -> list[Piece]:
    return [
        Piece(_where(path), path.stem, len(path.read_text().splitlines())) for path in modules()
    ]


def percentile(lengths: list[int], share: float) -> int:
    """Nearest-rank: the smallest length that ``share`` of the modules stay within."""
    ordered = sorted(lengths)
    return ordered[max(math.ceil(share * len(ordered)) - 1, 0)]


def functions(packages: tuple[str, ...] = EVERYWHERE) -> Iterator[Piece]:
    for path, node in _definitions((ast.FunctionDef, ast.AsyncFunctionDef), packages):
        yield Piece(_where(path), node.name, _span(node))


def classes(packages: tuple[str, ...] = EVERYWHERE) -> Iterator[Piece]:
    for path, node in _definitions((ast.ClassDef,), packages):
        yield Piece(_where(path), node.name, _span(node))


def _definitions(
    kinds: tuple[type, ...], packages: tuple[str, ...]
) -> Iterator[tuple[Path, ast.AST]]:
    for path in modules(packages):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, kinds):
                yield path, node


def _span(node: ast.AST) -> int:
    """From ``def`` or ``class`` to the last line of the body, docstring included."""
    return node.end_lineno - node.lineno + 1  # type: ignore[attr-defined]


def _where(path: Path) -> str:
    return str(path.relative_to(ROOT))


def report() -> str:
    """The figures docs/architecture.md records, as Markdown lines."""
    lengths = module_lengths()
    counts = [piece.lines for piece in lengths]
    longest = sorted(lengths, key=lambda piece: -piece.lines)[:3]
    long_modules = [piece for piece in lengths if piece.lines > 400]
    long_functions = [piece for piece in functions() if piece.lines > 50]
    long_classes = [piece for piece in classes() if piece.lines > 250]
    return "\n".join(
        [
            f"- modules: {len(counts)}; median {percentile(counts, 0.5)} lines, "
            f"90th percentile {percentile(counts, 0.9)}, longest "
            + ", ".join(f"`{piece.where}` ({piece.lines})" for piece in longest),
            f"- modules over 400 lines: {len(long_modules)}"
            + "".join(f"; `{p.where}` ({p.lines})" for p in long_modules),
            f"- functions over 50 lines: {len(long_functions)}"
            + "".join(f"; `{p.where}` `{p.name}` ({p.lines})" for p in long_functions),
            f"- classes over 250 lines: {len(long_classes)}"
            + "".join(f"; `{p.where}` `{p.name}` ({p.lines})" for p in long_classes),
        ]
    )


if __name__ == "__main__":
    sys.stdout.write(report() + "\n")
