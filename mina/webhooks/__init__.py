"""Signed webhooks: where they may point (``targets``), how a delivery is signed
(``signing``) and the sender that POSTs the queued deliveries with retries (``sender``).

Events are queued by the store (``store.record_event``) in the transaction that made them true;
the sender, a thread of the server process, reads them from ``webhook_deliveries``."""
