"""The fronts: Slack, the terminal, HTTP and the command line — and the wiring that joins them."""
