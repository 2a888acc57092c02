"""Which addresses the HTTPS check may connect to.

The rule: refuse every address in a block of the IANA IPv4 and IPv6 Special-Purpose Address
Registries (whatever their "globally reachable" column says — a verification fetch has no
business with PCP/TURN anycast or AS112 either), plus IPv6 outside global unicast 2000::/3.
IPv4 hidden inside IPv6 (IPv4-mapped, IPv4-compatible, SIIT-translated, 6to4, NAT64
64:ff9b::/96) is extracted and checked again, so `::ffff:127.0.0.1`, `2002:7f00:1::` and
`64:ff9b::a00:1` are refused like the IPv4 address they carry.

`ipaddress.is_global` alone is not enough: on Python 3.11 it calls `64:ff9b::a00:1` (NAT64
of 10.0.0.1), `2002:7f00:1::` (6to4 of 127.0.0.1), `::127.0.0.1` (IPv4-compatible loopback),
`64:ff9b:1::1` (local-use NAT64), `3fff::1` (documentation) and `192.88.99.1` global. The
tests pin these cases.

`allow_loopback` (tests only, HTTPS_ALLOW_LOOPBACK) permits plain 127.0.0.0/8 and ::1 — never
loopback disguised as one of the embedded forms above.
"""

import ipaddress

# (network, reason). Reasons are short technical names shown inside a translated sentence.
_IPV4_BLOCKS = [
    ("0.0.0.0/8", "“this network” (RFC 791)"),
    ("10.0.0.0/8", "private network (RFC 1918)"),
    ("100.64.0.0/10", "shared address space / carrier-grade NAT (RFC 6598)"),
    ("127.0.0.0/8", "loopback (RFC 1122)"),
    ("169.254.0.0/16", "link-local, incl. cloud metadata (RFC 3927)"),
    ("172.16.0.0/12", "private network (RFC 1918)"),
    ("192.0.0.0/24", "IETF protocol assignments (RFC 6890)"),
    ("192.0.2.0/24", "documentation (TEST-NET-1, RFC 5737)"),
    ("192.31.196.0/24", "AS112-v4 (RFC 7535)"),
    ("192.52.193.0/24", "AMT (RFC 7450)"),
    ("192.88.99.0/24", "deprecated 6to4 relay anycast (RFC 7526)"),
    ("192.168.0.0/16", "private network (RFC 1918)"),
    ("192.175.48.0/24", "direct delegation AS112 service (RFC 7534)"),
    ("198.18.0.0/15", "benchmarking (RFC 2544)"),
    ("198.51.100.0/24", "documentation (TEST-NET-2, RFC 5737)"),
    ("203.0.113.0/24", "documentation (TEST-NET-3, RFC 5737)"),
    ("224.0.0.0/4", "multicast (RFC 5771)"),
    ("240.0.0.0/4", "reserved (RFC 1112)"),
    ("255.255.255.255/32", "limited broadcast (RFC 919)"),
]

_IPV6_BLOCKS = [
    ("::1/128", "loopback (RFC 4291)"),
    ("::/128", "unspecified address (RFC 4291)"),
    ("64:ff9b:1::/48", "local-use IPv4/IPv6 translation (RFC 8215)"),
    ("100::/64", "discard-only (RFC 6666)"),
    ("100:0:0:1::/64", "dummy IPv6 prefix (RFC 9780)"),
    ("2001::/23", "IETF protocol assignments, incl. Teredo and benchmarking (RFC 2928)"),
    ("2001:db8::/32", "documentation (RFC 3849)"),
    ("3fff::/20", "documentation (RFC 9637)"),
    ("5f00::/16", "segment routing SIDs (RFC 9602)"),
    ("fc00::/7", "unique local (RFC 4193)"),
    ("fe80::/10", "link-local (RFC 4291)"),
    ("fec0::/10", "deprecated site-local (RFC 3879)"),
    ("ff00::/8", "multicast (RFC 4291)"),
]

_V4_NETWORKS = [(ipaddress.IPv4Network(net), reason) for net, reason in _IPV4_BLOCKS]
_V6_NETWORKS = [(ipaddress.IPv6Network(net), reason) for net, reason in _IPV6_BLOCKS]
_V4_LOOPBACK = ipaddress.IPv4Network("127.0.0.0/8")
_V6_LOOPBACK = ipaddress.IPv6Address("::1")
_GLOBAL_UNICAST = ipaddress.IPv6Network("2000::/3")

# IPv6 forms that carry an IPv4 address in their last 32 bits (or, for 6to4, bits 16-47).
_MAPPED = ipaddress.IPv6Network("::ffff:0:0/96")  # IPv4-mapped (RFC 4291)
_COMPATIBLE = ipaddress.IPv6Network("::/96")  # IPv4-compatible, deprecated (RFC 4291)
_TRANSLATED = ipaddress.IPv6Network("::ffff:0:0:0/96")  # SIIT IPv4-translated (RFC 2765)
_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")  # NAT64 well-known prefix (RFC 6052)
_SIX_TO_FOUR = ipaddress.IPv6Network("2002::/16")  # 6to4 (RFC 3056)


def embedded_ipv4(address: ipaddress.IPv6Address) -> tuple[ipaddress.IPv4Address, str] | None:
    """The IPv4 address hidden in an IPv6 address, with the name of the form, if any."""
    low32 = ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    if address in _MAPPED:
        return low32, "IPv4-mapped"
    if address in _TRANSLATED:
        return low32, "IPv4-translated"
    if address in _NAT64:
        return low32, "NAT64"
    if address in _SIX_TO_FOUR:
        return ipaddress.IPv4Address((int(address) >> 80) & 0xFFFFFFFF), "6to4"
    if address in _COMPATIBLE and int(address) > 1:  # :: and ::1 are themselves, not IPv4
        return low32, "IPv4-compatible"
    return None


def is_forbidden_address(ip, allow_loopback: bool = False) -> str | None:
    """Why `ip` (str or ipaddress object) must not be fetched from, or None when it may be."""
    try:
        address = ipaddress.ip_address(ip) if not isinstance(ip, ipaddress.IPv4Address | ipaddress.IPv6Address) else ip
    except ValueError:
        return "not an IP address"
    if isinstance(address, ipaddress.IPv6Address) and address.scope_id:
        address = ipaddress.IPv6Address(str(address).split("%", 1)[0])
    if isinstance(address, ipaddress.IPv4Address):
        if allow_loopback and address in _V4_LOOPBACK:
            return None
        for network, reason in _V4_NETWORKS:
            if address in network:
                return reason
        return None

    if allow_loopback and address == _V6_LOOPBACK:
        return None
    embedded = embedded_ipv4(address)
    if embedded is not None:
        inner, form = embedded
        # Loopback hidden in an embedded form is never allowed, even in tests.
        inner_reason = is_forbidden_address(inner, allow_loopback=False)
        if inner_reason:
            return f"{form} form of {inner}: {inner_reason}"
        if form in ("IPv4-compatible", "IPv4-translated"):
            return f"{form} address (deprecated, not routed)"
        return None
    for network, reason in _V6_NETWORKS:
        if address in network:
            return reason
    if address not in _GLOBAL_UNICAST:
        return "outside IPv6 global unicast 2000::/3 (reserved by IETF)"
    return None
