"""Everything Andon tells people goes through the outbox: queued in the caller's transaction,
delivered in order by the courier to the chat (Slack or the terminal)."""
