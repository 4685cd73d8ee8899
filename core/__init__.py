"""The pipeline engine: the line, its stoppages and the audit log (later: CI, gate, deploy, alerts).

``core`` never imports a chat library, a web framework or ``bot``; it reports through the
``Notifier`` port and takes its collaborators (session, notifier, clock) as arguments.
"""
