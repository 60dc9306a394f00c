"""Where a webhook may point: an http(s) URL with a host and, unless
``MINA_WEBHOOK_ALLOW_PRIVATE`` is on (the default), no loopback, private or link-local
address. Checked when a webhook is saved and again before every delivery, since a host's
addresses may change."""

from __future__ import annotations

import ipaddress
import socket
from urllib.parse import urlsplit

URL_MAX = 2000


class TargetRefused(ValueError):
    """A URL a webhook may not use; the message is safe to show."""


def check_url(url: str) -> str:
    """``url`` stripped, if it is an http(s) URL with a host; ``TargetRefused`` otherwise."""
    url = url.strip()
    if len(url) > URL_MAX:
        raise TargetRefused(f"The URL is longer than {URL_MAX} characters.")
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 (raises ValueError on a bad port)
    except ValueError:
        raise TargetRefused("The URL is not valid.") from None
    if parts.scheme not in ("http", "https"):
        raise TargetRefused("The URL must start with http:// or https://.")
    if not parts.hostname:
        raise TargetRefused("The URL must name a host.")
    if any(c.isspace() for c in url):
        raise TargetRefused("The URL must not contain spaces.")
    return url


def is_private(address: str) -> bool:
    """Loopback, private, link-local, unspecified, multicast or reserved: not the public
    internet (an IPv4-mapped IPv6 address is judged by its IPv4 address)."""
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return (
        ip.is_loopback
        or ip.is_private
        or ip.is_link_local
        or ip.is_unspecified
        or ip.is_multicast
        or ip.is_reserved
    )


def resolve_host(host: str) -> list[str]:
    """Every address ``host`` resolves to now (blocking: call it off the event loop)."""
    try:
        infos = socket.getaddrinfo(host, None, proto=socket.IPPROTO_TCP)
    except (OSError, UnicodeError) as exc:
        raise TargetRefused(f"The host {host!r} cannot be resolved ({exc}).") from None
    return sorted({str(info[4][0]) for info in infos})


def check_target(url: str, *, allow_private: bool) -> str:
    """``check_url``, then, unless ``allow_private``, refuse a host that resolves to any
    private address. Blocking (DNS)."""
    url = check_url(url)
    if allow_private:
        return url
    host = urlsplit(url).hostname or ""
    for address in resolve_host(host):
        if is_private(address):
            raise TargetRefused(
                f"The URL points to a private address ({address}), and this server refuses "
                "those (MINA_WEBHOOK_ALLOW_PRIVATE=false)."
            )
    return url
