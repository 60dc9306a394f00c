"""Background work across processes: jobs sent to Celery workers (``MINA_QUEUE_URL``) and the
leases that make periodic work run in one process at a time.

``broker``: the Celery application, its two queues (``speech``, ``default``) and the check that
the broker answers. ``dispatcher``: the web processes' side, which sends the jobs of the
``jobs`` table to the broker. ``worker``: ``mina worker``'s side, which runs them with the same
job functions as the in-process runner (``mina.jobs``). ``leases``: periodic work
(recovery, housekeeping, webhook retries) done by one process at a time.
"""
