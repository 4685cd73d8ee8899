"""The pipeline engine — the rules: the line and its stoppages, CI, the commit check, deploys,
alerts, on-call, the five whys, the digest and the audit log.

``core`` never imports a chat library, a web framework or ``bot``; it reports through the
``Notifier`` port and takes its collaborators (session, notifier, clock) as arguments.
"""
