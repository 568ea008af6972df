"""The client's address, trusting ``X-Forwarded-For`` only behind configured proxies."""

import ipaddress
import logging

from django.conf import settings
from django.http import HttpRequest

logger = logging.getLogger(__name__)


def client_ip(request: HttpRequest) -> str:
    """The address of the client, as DRF's throttles read it (``NUM_PROXIES``).

    With ``NUM_PROXIES = 0`` the socket peer is used, so a forged header cannot dodge a limit
    or pass an allow-list. With N proxies, the N-th address from the right of
    ``X-Forwarded-For`` is the one the outermost trusted proxy saw.
    """
    remote_addr = str(request.META.get("REMOTE_ADDR", ""))
    configured = settings.REST_FRAMEWORK.get("NUM_PROXIES")
    num_proxies = configured if isinstance(configured, int) else 0
    forwarded = request.META.get("HTTP_X_FORWARDED_FOR")
    if num_proxies > 0 and forwarded:
        addresses = [part.strip() for part in str(forwarded).split(",") if part.strip()]
        if addresses:
            return addresses[-min(num_proxies, len(addresses))]
    return remote_addr


def address_in(address: str, networks: list[str]) -> bool:
    """True when ``address`` is one of ``networks`` (single addresses or CIDR blocks)."""
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    for network in networks:
        try:
            if ip in ipaddress.ip_network(network, strict=False):
                return True
        except ValueError:
            logger.warning("ignoring malformed network in an allow-list: %s", network)
    return False
