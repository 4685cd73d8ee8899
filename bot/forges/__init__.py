"""GitHub and GitLab as Andon writes to them: commit statuses and deployments."""
