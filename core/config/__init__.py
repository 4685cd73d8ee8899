"""``andon.toml``: its sections, the value types they are written in, and its problems told in
an operator's words (``file.py`` holds the whole file's model and ``load``)."""
