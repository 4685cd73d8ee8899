"""Deploy and rollback: release directories on each host, one atomic ``current`` symlink."""
