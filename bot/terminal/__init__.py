"""The terminal front, both ways: type what you would type in Slack (``shell.py``), see what the
channel would see (``chat.py``, where the courier delivers when there is no Slack)."""
