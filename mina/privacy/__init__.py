"""A person's own data: "Download my data" (``export``), deleting an account (``deletion``) and
the retention period that deletes old meetings (``retention``)."""
