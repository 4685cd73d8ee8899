"""OFREP's evaluation objects as JSON text, each flag's two possible objects (on, off) written
once and picked per request: a bulk answer holds every flag, and building 100 dictionaries and
encoding them cost more than the rest of the request together (bench/README.md, flags)."""

import json
from collections.abc import Iterable
from functools import lru_cache

from core.flags.bucket import is_on
from core.flags.evaluation import Evaluation, reason_of

_TEMPLATE = (
    '{{"key":{key},"value":{value},"reason":"{reason}","variant":"{variant}",'
    '"metadata":{{"environment":{environment},"percentage":{percentage}}}}}'
)


def written(found: Evaluation) -> str:
    """One evaluation object, the shape OFREP's providers read (and the API schema says)."""
    return _TEMPLATE.format(
        key=json.dumps(found.key, ensure_ascii=False),
        value="true" if found.value else "false",
        reason=found.reason.value,
        variant=found.variant,
        environment=json.dumps(found.environment, ensure_ascii=False),
        percentage=int(found.percentage),
    )


@lru_cache(maxsize=8192)
def _either(key: str, percentage: int, environment: str, keyed: bool) -> tuple[str, str]:
    """The flag's object when on and when off: only the targeting key's bucket picks."""
    reason = reason_of(percentage, keyed=keyed)
    return (
        written(Evaluation(key, True, reason, environment, percentage)),
        written(Evaluation(key, False, reason, environment, percentage)),
    )


def every(
    found: Iterable[tuple[str, int]], *, environment: str, targeting_key: str | None
) -> bytes:
    """The bulk answer's body, ``{"flags": [...]}``, for one context."""
    keyed = targeting_key is not None
    objects = []
    for key, percentage in found:
        on, off = _either(key, percentage, environment, keyed)
        objects.append(on if is_on(percentage, flag_key=key, targeting_key=targeting_key) else off)
    return ('{"flags":[' + ",".join(objects) + "]}").encode()
