"""Storage: the tables, the database engine and the migrations (``bot → core → storage``)."""
