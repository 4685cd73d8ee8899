"""A command's start: the cycle collector is off while ``andon`` imports and builds what it runs.

Starting allocates hundreds of thousands of objects that live as long as the process (modules,
classes, SQLAlchemy's mappers, the bus's handlers, the HTTP routes), and the collector, run every
700 allocations, walks them again and again and finds nothing to free: a sixth of ``andon
serve``'s start and of a CLI run's. A one-shot command (``line stop``, ``ci status``, the git
hooks) runs to its end without it, as most command-line programs do; a command that keeps running
(``serve``, ``shell``, ``deploy`` following its deploy, ``demo``) turns it on once started.
"""

import gc


def begin() -> None:
    """The console script's first step, before any import of the engine."""
    gc.disable()


def done(*, freeze: bool = False) -> None:
    """The process runs now: collect as usual. ``freeze``: what startup built lives as long as the
    process, so collections never walk it (``gc.freeze``)."""
    if freeze:
        gc.freeze()
    gc.enable()
