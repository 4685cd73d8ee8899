"""The command bus: every message a front brings — a command's intent or an event — has one
handler in one table (``table``) and runs through one wrapper (``dispatch``): one unit of work,
one error handler, an audit row whatever happens."""
