"""Share links: a read-only page of one meeting for people without an account.

``links`` makes the tokens and opens a link from one (the same answer for an unknown, expired or
revoked token), ``limits`` counts each address's requests to the public routes. The queries are
in ``mina.store.shares``; the routes in ``mina.web.shares_api`` and ``mina.web.shared_page``."""

from mina.sharing.limits import RequestLimiter
from mina.sharing.links import (
    DEFAULT_DAYS,
    MAX_DAYS,
    create_link,
    is_active,
    open_link,
)

__all__ = ["DEFAULT_DAYS", "MAX_DAYS", "RequestLimiter", "create_link", "is_active", "open_link"]
