"""How Andon reaches the hosts of an environment: over SSH (paramiko) or on this machine's own
filesystem — the adapters of ``core/deploy/transport.py``'s port."""
