"""Who is asking: the client's address and user agent, for throttles and the audit trail.

Behind a load balancer every request has the balancer's REMOTE_ADDR; each trusted proxy
appends the address it received the request from to X-Forwarded-For. With TRUSTED_PROXY_COUNT
proxies in front of us, the client is the entry that many places from the right: whatever a
client writes into the header itself stands further left and is never believed. With 0 (the
default) the header is ignored. We keep this rather than django-ipware: ipware ranks some thirty
request headers and prefers "public" addresses, and a throttle must take exactly the hop our
own proxies wrote.
"""

import ipaddress

from django.conf import settings


def _address(text: str) -> str | None:
    text = text.strip()
    if text.startswith("[") and "]" in text:  # [IPv6]:port
        text = text[1 : text.index("]")]
    elif text.count(":") == 1:  # IPv4:port
        text = text.split(":", 1)[0]
    try:
        return str(ipaddress.ip_address(text))
    except ValueError:
        return None


def client_address(request) -> str:
    remote = (request.META.get("REMOTE_ADDR") or "unknown") if request is not None else "unknown"
    trusted = settings.TRUSTED_PROXY_COUNT
    if request is None or trusted <= 0:
        return remote
    hops = [hop for hop in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",") if hop.strip()]
    if len(hops) < trusted:
        return remote  # the request did not come through all our proxies
    return _address(hops[-trusted]) or remote


def user_agent(request) -> str:
    return (request.META.get("HTTP_USER_AGENT", "") if request is not None else "")[:300]
