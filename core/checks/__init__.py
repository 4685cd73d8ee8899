"""Andon's own checks: for teams without monitoring, a metric polled here pages like an alert."""
