"""Where releases come from: the git repository they are cut from, and the tree cut on this
machine with its manifest and delta archives — the adapters of ``core/deploy/source.py`` and
``core/deploy/bundle.py``."""
