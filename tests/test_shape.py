"""The size limits the redesign reached, held: a newcomer reads any module in one sitting and any
function on one screen. Measured by ``tests/shape.py``, the way docs/architecture.md reports."""

from tests import shape


def test_no_module_is_over_400_lines() -> None:
    assert [p for p in shape.module_lengths() if p.lines > 400] == []


def test_nine_modules_in_ten_are_under_250_lines() -> None:
    assert shape.percentile([p.lines for p in shape.module_lengths()], 0.9) < 250


def test_no_function_is_over_50_lines() -> None:
    assert [p for p in shape.functions() if p.lines > 50] == []


def test_no_class_is_over_250_lines() -> None:
    assert [p for p in shape.classes() if p.lines > 250] == []
