"""Who gets a flag at a percentage: sticky (the same answer every time) and monotone (whoever
had it at 30% still has it at 60%), because a person's bucket never moves."""

import hashlib

BUCKETS = 100


def bucket(flag_key: str, targeting_key: str) -> int:
    """A stable 0..99 for this person and this flag: the same on every replica, every release,
    and independent between flags (the flag's key is hashed in)."""
    digest = hashlib.sha256(f"{flag_key}\x00{targeting_key}".encode()).digest()
    return int.from_bytes(digest[:8], "big") % BUCKETS


def is_on(percentage: int, *, flag_key: str, targeting_key: str | None) -> bool:
    """On for the buckets below the percentage; without a targeting key, only at 100%."""
    if percentage >= BUCKETS:
        return True
    if percentage <= 0 or targeting_key is None:
        return False
    return bucket(flag_key, targeting_key) < percentage
