"""Which hosts go live together: ``batches = [1, "50%", "100%"]`` as cumulative targets.

Each entry says how many hosts are live once that batch is done — a count or a share of all
hosts — so ``[1, "50%", "100%"]`` is the canary, then half, then the rest. Whatever the list
leaves out goes in a last batch: a deploy always reaches every host.
"""

import math
from collections.abc import Sequence
from typing import TypeVar

T = TypeVar("T")


def split(hosts: Sequence[T], batches: Sequence[int | str]) -> list[list[T]]:
    total = len(hosts)
    groups: list[list[T]] = []
    done = 0
    for batch in batches:
        target = min(total, max(_target(batch, total), done + 1))
        if done >= total:
            break
        groups.append(list(hosts[done:target]))
        done = target
    if done < total:
        groups.append(list(hosts[done:]))
    return groups


def _target(batch: int | str, total: int) -> int:
    if isinstance(batch, int):
        return batch
    return math.ceil(total * int(batch.rstrip("%")) / 100)
