"""The terminal front: type what you would type in Slack, see what the channel would see."""
