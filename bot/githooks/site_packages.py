"""The hook's interpreter starts without ``site``; the few paths that need more add it here.

``andon gate install`` writes a hook that runs this Andon's Python with ``-S``: at every push,
``site`` — the virtualenv's ``.pth`` files, an editable install's import finder — cost about as
long as the rest of Python's start, and the common push needs nothing outside the standard
library and Andon's own package (whose root the hook puts on ``sys.path``). The database path's
full way (SQLAlchemy) and reading ``[gate] fail_open`` (pydantic) need the installed packages:
they call ``add()`` first, which does what Python's start would have done.
"""

import sys

_added = False


def add() -> None:
    """Make the installed packages importable, once; nothing when ``site`` already ran."""
    global _added
    if _added or not sys.flags.no_site:
        return
    import site

    site.main()
    _added = True
