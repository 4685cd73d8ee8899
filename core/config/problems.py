"""Pydantic's errors retold for an operator: one line each, led by the key path in andon.toml."""

import difflib
import re
import types
from typing import Annotated, Any, Union, get_args, get_origin

from pydantic import BaseModel, ValidationError

_BARE_KEY = re.compile(r"[A-Za-z0-9_-]+")
_EXPECTED = {
    "string_type": "expected text in quotes",
    "int_type": "expected a whole number",
    "float_type": "expected a number",
    "bool_type": "expected true or false",
    "list_type": "expected a list [ … ]",
    "dict_type": "expected a table",
    "model_type": "expected a table",
    "model_attributes_type": "expected a table",
}


def key_path(loc: tuple[int | str, ...]) -> str:
    """``("environments", "production", "hosts", 1)`` → ``environments.production.hosts[1]``."""
    path = ""
    for item in loc:
        if isinstance(item, int):
            path += f"[{item}]"
        elif item != "[key]":  # pydantic's marker for "the key itself", which we already name
            key = item if _BARE_KEY.fullmatch(item) else '"' + item.replace('"', '\\"') + '"'
            path += f".{key}" if path else key
    return path


def describe(error: ValidationError, root: type[BaseModel]) -> list[str]:
    """Every problem in ``error`` as ``key.path: what is wrong``, section by section, once."""
    found: list[str] = []
    for detail in error.errors(include_url=False):
        loc = tuple(detail["loc"])
        message = _message(detail, root)
        if not loc:  # whole-file checks already lead each line with its own key path
            found.extend(message.splitlines())
        else:
            found.append(f"{key_path(loc)}: {message}")
    return list(dict.fromkeys(found))


def _message(detail: Any, root: type[BaseModel]) -> str:
    kind, ctx, given = detail["type"], detail.get("ctx", {}), detail.get("input")
    if kind in ("value_error", "assertion_error") and "error" in ctx:
        return str(ctx["error"])
    if kind == "missing":
        return "required, but missing"
    if kind == "extra_forbidden":
        return _unknown_key(tuple(detail["loc"]), root)
    if kind in _EXPECTED:
        return f"{_EXPECTED[kind]}, got {_show(given)}"
    if kind in ("too_short", "string_too_short"):
        return "must not be empty"
    bounds = {"greater_than_equal": "at least", "greater_than": "more than"}
    bounds |= {"less_than_equal": "at most", "less_than": "less than"}
    if kind in bounds:
        limit = next(iter(ctx.values()))
        return f"must be {bounds[kind]} {limit}, got {_show(given)}"
    if kind == "literal_error":
        return f"must be one of {ctx.get('expected')}, got {_show(given)}"
    text = str(detail["msg"])
    return text[:1].lower() + text[1:]


def _show(value: Any) -> str:
    """A value the way it looks in TOML, short."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict):
        return "a table"
    if isinstance(value, list):
        return "a list"
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "…"


def _unknown_key(loc: tuple[Any, ...], root: type[BaseModel]) -> str:
    """Name the key that was probably meant, because most unknown keys are typos."""
    model = _model_at(root, loc[:-1])
    if model is None:
        return "unknown key"
    known = [field.alias or name for name, field in model.model_fields.items()]
    what = "unknown section" if len(loc) == 1 else "unknown key"
    close = difflib.get_close_matches(str(loc[-1]), known, n=1, cutoff=0.6)
    if close:
        return f"{what} (did you mean {close[0]!r}?)"
    return f"{what} (known here: {', '.join(known)})"


def _model_at(root: type[BaseModel], loc: tuple[Any, ...]) -> type[BaseModel] | None:
    """Follow a loc through the model's annotations to the model that owns its last key."""
    current: Any = root
    for item in loc:
        current = _unwrap(current)
        if isinstance(current, type) and issubclass(current, BaseModel):
            fields = current.model_fields.items()
            field = next((f for n, f in fields if (f.alias or n) == item), None)
            if field is None:
                return None
            current = field.annotation
        elif get_origin(current) is list and isinstance(item, int):
            current = get_args(current)[0]
        elif get_origin(current) is dict and isinstance(item, str):
            current = get_args(current)[1]
        else:
            return None
    current = _unwrap(current)
    return current if isinstance(current, type) and issubclass(current, BaseModel) else None


def _unwrap(annotation: Any) -> Any:
    """``Annotated[X, …] | None`` → ``X``."""
    while True:
        origin = get_origin(annotation)
        if origin is Annotated:
            annotation = get_args(annotation)[0]
        elif origin in (Union, types.UnionType):
            rest = [arg for arg in get_args(annotation) if arg is not type(None)]
            if len(rest) != 1:
                return annotation
            annotation = rest[0]
        else:
            return annotation
