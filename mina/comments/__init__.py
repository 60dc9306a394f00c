"""Comments on transcript segments: who a comment's ``@Name`` tokens mention (``mentions``),
and writing a comment with its notifications and webhook (``threads``). Tasks assigned to a
member notify them (``assignments``)."""
