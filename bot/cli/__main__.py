"""``python -m bot.cli``: the same ``andon`` as the console script, for a venv without one."""

import sys

from bot.cli import main

sys.exit(main())
