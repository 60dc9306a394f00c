"""What a running Mina process tells its operators: Prometheus metrics (``/metrics``) and
structured logs (``MINA_LOG_FORMAT=json``) that name the request, meeting and recording."""
