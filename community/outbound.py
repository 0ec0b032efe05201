"""Where the server may send its own HTTP requests: http(s) to public addresses only.

Admins configure addresses the server then requests (a channel's `api_base`, a partner's
`callback_url`). Without a rule, one of them could aim the server at itself, the network behind
it or the cloud metadata service (SSRF). Every address a name resolves to must be public; the
check runs when the setting is saved and again when connecting (DNS can change in between), and
the connection goes to the address that was checked. WEBHOOKS_ALLOW_PRIVATE_TARGETS lifts the
address rule (tests, and intranet partners), never the scheme rule.
"""

from __future__ import annotations

import ipaddress
import socket
from urllib.parse import urlsplit

from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool
from urllib3.exceptions import ConnectTimeoutError, NameResolutionError, NewConnectionError
from urllib3.util import connection

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
SCHEMES = ("http", "https")
CGNAT = ipaddress.ip_network("100.64.0.0/10")


class RefusedTarget(Exception):
    """An address the server will not request: not http(s), or not a public address."""


def refusal(address: IPAddress) -> str | None:
    """Why the server may not connect to `address` (e.g. "loopback"), or None if it is public."""
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped:  # ::ffff:127.0.0.1 is 127.0.0.1
            return refusal(address.ipv4_mapped)
        reason = refusal(address.sixtofour) if address.sixtofour else None  # 2002:7f00:1::
        if reason:
            return reason
    checks = (("unspecified", address.is_unspecified), ("loopback", address.is_loopback),
              ("link-local", address.is_link_local), ("multicast", address.is_multicast),
              ("shared (CGNAT)", address in CGNAT), ("reserved", address.is_reserved),
              ("site-local", getattr(address, "is_site_local", False)),
              ("private", address.is_private), ("non-public", not address.is_global))
    return next((name for name, hit in checks if hit), None)


def public_addresses(host: str, port: int, family: int = socket.AF_UNSPEC) -> list[str]:
    """Every address `host` resolves to, in the resolver's order; RefusedTarget if any is not
    public (a name with one private address among public ones is refused: which one a
    connection would get is up to the resolver). socket.gaierror when it does not resolve."""
    found = socket.getaddrinfo(host.strip("[]"), port, family, socket.SOCK_STREAM)
    addresses = list(dict.fromkeys(str(info[4][0]).partition("%")[0] for info in found))
    for text in addresses:
        reason = refusal(ipaddress.ip_address(text))
        if reason:
            shown = host if host.strip("[]") == text else f"{host} ({text})"
            raise RefusedTarget(f"{shown} is not a public address ({reason}); the server "
                                "only requests public addresses")
    return addresses


def require_http(url: str) -> tuple[str, int]:
    """The host and port of an http(s) URL; RefusedTarget for any other URL."""
    try:
        parts = urlsplit(url)
        port = parts.port or (443 if parts.scheme.lower() == "https" else 80)
    except ValueError:
        raise RefusedTarget(f"{url[:80]!r} is not a valid URL") from None
    if parts.scheme.lower() not in SCHEMES:
        raise RefusedTarget(f"{url[:80]!r} is not an http or https URL")
    if not parts.hostname:
        raise RefusedTarget(f"{url[:80]!r} names no host")
    return parts.hostname, port


def check_url(url: str, *, allow_private: bool = False) -> None:
    """Raise RefusedTarget unless `url` is http(s) with a host whose every address is public
    (any address when WEBHOOKS_ALLOW_PRIVATE_TARGETS is on: `allow_private`)."""
    host, port = require_http(url)
    if allow_private:
        return
    try:
        public_addresses(host, port)
    except (socket.gaierror, UnicodeError):
        raise RefusedTarget(f"{host} does not resolve to an address") from None


# ---- connections that go only where the rules allow -----------------------------------------

class _CheckedConnection:
    """Resolve, check every address, then connect to a checked one: a name cannot switch to an
    internal address between the check and the connection (DNS rebinding)."""

    def _new_conn(self) -> socket.socket:
        try:
            addresses = public_addresses(self._dns_host, self.port, connection.allowed_gai_family())
        except (socket.gaierror, UnicodeError) as exc:
            raise NameResolutionError(self.host, self, exc) from exc
        error: OSError | None = None
        for address in addresses:
            try:
                return connection.create_connection(
                    (address, self.port), self.timeout, source_address=self.source_address,
                    socket_options=self.socket_options)
            except OSError as exc:
                error = exc
        if isinstance(error, TimeoutError):
            raise ConnectTimeoutError(self, f"Connection to {self.host} timed out.") from error
        raise NewConnectionError(self, f"Failed to establish a new connection: {error}") \
            from error


class CheckedHTTPConnection(_CheckedConnection, HTTPConnection):
    pass


class CheckedHTTPSConnection(_CheckedConnection, HTTPSConnection):
    pass


class CheckedHTTPConnectionPool(HTTPConnectionPool):
    ConnectionCls = CheckedHTTPConnection


class CheckedHTTPSConnectionPool(HTTPSConnectionPool):
    ConnectionCls = CheckedHTTPSConnection


# For urllib3.PoolManager(...).pool_classes_by_scheme: every connection checked.
CHECKED_POOLS = {"http": CheckedHTTPConnectionPool, "https": CheckedHTTPSConnectionPool}
