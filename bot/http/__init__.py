"""The HTTP front: Slack's request URL, the JSON API, health and metrics."""
