"""Alert storms that once flooded Slack and held the writer, measured against this checkout and,
side by side in the same run, against an older one (``--baseline <checkout>``).

``bench/alerts.py`` runs these after its own storm; this module can run alone too:

    .venv/bin/python bench/storms.py [--json] [--databases sqlite,postgresql]
        [--cases group,names,minute] [--baseline /path/to/an/older/checkout --baseline-name <sha>]

The cases, each on a fresh ``andon serve`` and database (``[oncall]`` of two people, ``[slack]
channel``, no ``[alerts]`` section: the default caps, 20 new pages a delivery and 60 a minute):

- **group**: one Alertmanager POST of 2,000 fingerprints in one group (one ``groupKey``, one
  ``alertname``, 2,000 instances), as Alertmanager sends a large group;
- **names**: one POST of 2,000 fingerprints with 2,000 ``alertname``s and no ``groupKey`` — what
  a hostile sender with the secret can send;
- **minute**: 10,000 alerts over 60 s — 2,000 fingerprints in 400 groups of 5 (a ``groupKey``
  and an ``alertname`` each), 2,000 POSTs of one group each, the groups in turn (each sent 5
  times), paced open-loop from 16 senders.

Measured, from the storm's first POST until the outbox has nothing left to send (or, for code that
takes longer, 120 s after the first POST — what is still queued then is reported): every call
the fake Slack received (by kind; ``@here`` counted), the pages in the database (by status, read
with SQL so the older schema reads alike), the webhook's answer time, and ``/line status`` — a
signed slash command, sent open-loop 10 times a second by 8 clients throughout — its time to
the HTTP 200 (Slack gives up after 3 s). The baseline runs the older checkout's code (its
``bot``, ``core`` and ``storage`` on ``PYTHONPATH``) with this checkout's virtualenv, the same
load and the same fake Slack.
"""

import argparse
import json
import sys
import tempfile
from pathlib import Path

from storm_report import as_json, markdown, problems
from storm_runs import CASES, say, with_postgres


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--databases", default="sqlite,postgresql")
    parser.add_argument("--cases", default=",".join(CASES))
    parser.add_argument("--baseline", default=None, help="an older checkout to compare with")
    parser.add_argument("--baseline-name", default="", help="what to call it (its commit)")
    args = parser.parse_args(argv)
    cases = [c for c in args.cases.split(",") if c]
    databases = [d for d in args.databases.split(",") if d]
    name = args.baseline_name or "older checkout"
    with tempfile.TemporaryDirectory(prefix="andon-storms-") as scratch:
        results = with_postgres(
            cases=cases,
            databases=databases,
            scratch=Path(scratch),
            baseline=args.baseline,
            baseline_name=name,
        )
    print(json.dumps(as_json(results), indent=2) if args.json else markdown(results))
    found = problems(results)
    for problem in found:
        say(problem)
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main())
