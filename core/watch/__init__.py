"""The immune system: read what a change could hurt, judge it against a baseline, say when."""
