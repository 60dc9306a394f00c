"""Background jobs: one entry point, ``enqueue(job_name, **ids)``, whichever backend runs them.

A job is a plain function ``run(context, *, job_id, **ids)``; its row in the ``jobs`` table
(status, progress, error, attempts) is the durable record, the same for every backend.

``base``: the context a job receives, the errors that say how it ended, the queue protocol.
``registry``: the jobs by name, grouped by concern (each function lives with its concern).
``execute``: one job with its bookkeeping, shared by both backends.
``runner``: the in-process backend (no ``MINA_QUEUE_URL``): worker threads in the server.
``routing``: which queue a job goes on (``speech`` or ``default``).
``broker``, ``dispatcher``, ``worker``, ``command``: the Celery backend (``MINA_QUEUE_URL``):
the Celery application, the web processes' side that sends the table's jobs to the broker, and
``mina worker``'s side that runs them.
``leases``: periodic work (recovery, housekeeping, webhook retries) done by one process at a
time.
"""
