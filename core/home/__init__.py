"""The Home tab: what one person sees of the line (``view``), and whose Home is stale
(``viewers``)."""
