"""Alerting: alerts from monitoring and Andon's own checks become pages, and pages stop the line."""
