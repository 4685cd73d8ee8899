"""What Andon asks over HTTP: a host's health URL after a flip, and the metric endpoints of the
built-in checks — the adapters of the health probe and metric reader ports."""
