"""Pure functions from domain objects to chat messages (Block Kit; the terminal reads the same)."""
