"""What ``andon serve`` runs around the engine, and how it stops."""
