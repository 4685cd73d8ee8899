"""Row ids are ``integer`` columns — 32-bit on PostgreSQL: a number a person typed past that
names no row, and asking PostgreSQL for it is an error ("integer out of range"), not an answer.
The doors bound ids to this, and lookups by a typed id treat a larger one as no row."""

MAX_ID = 2**31 - 1


def fits(row_id: int) -> bool:
    """Whether ``row_id`` can name a row in every database Andon runs on."""
    return 1 <= row_id <= MAX_ID
