"""The environment the process runs in, and the secrets it must never repeat."""
