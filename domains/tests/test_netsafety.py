"""The special-purpose address rules of the HTTPS check, over a table of addresses."""

import ipaddress

import pytest

from domains.verifiers.netsafety import embedded_ipv4, is_forbidden_address

FORBIDDEN = [
    # IPv4 special-purpose registry
    "0.0.0.0",  # noqa: S104
    "0.1.2.3",
    "10.0.0.1",
    "10.255.255.255",
    "100.64.0.1",
    "100.127.255.254",
    "127.0.0.1",
    "127.255.255.254",
    "169.254.0.1",
    "169.254.169.254",
    "172.16.0.1",
    "172.31.255.255",
    "192.0.0.1",
    "192.0.0.9",
    "192.0.0.170",
    "192.0.2.1",
    "192.31.196.1",
    "192.52.193.1",
    "192.88.99.1",
    "192.168.1.1",
    "192.175.48.1",
    "198.18.0.1",
    "198.19.255.255",
    "198.51.100.7",
    "203.0.113.9",
    "224.0.0.1",
    "239.255.255.250",
    "240.0.0.1",
    "255.255.255.255",
    # IPv6 special-purpose registry and non-global-unicast space
    "::",
    "::1",
    "::2",
    "::127.0.0.1",
    "::10.0.0.1",
    "::8.8.8.8",  # IPv4-compatible: deprecated, never routed
    "::ffff:127.0.0.1",
    "::ffff:10.0.0.1",
    "::ffff:169.254.169.254",
    "::ffff:0:10.0.0.1",  # SIIT IPv4-translated
    "64:ff9b::a00:1",
    "64:ff9b::7f00:1",
    "64:ff9b::a9fe:a9fe",
    "64:ff9b:1::1",
    "64:ff9b:1::808:808",
    "100::1",
    "100:0:0:1::1",
    "2001::1",  # Teredo
    "2001:2::1",  # benchmarking
    "2001:4:112::1",
    "2001:20::1",
    "2001:db8::1",
    "2002:7f00:1::",
    "2002:a00:1::1",
    "2002:a9fe:a9fe::",
    "2002:c0a8:101::1",
    "3fff::1",
    "5f00::1",
    "fc00::1",
    "fd12:3456::1",
    "fe80::1",
    "febf::1",
    "fec0::1",
    "ff02::1",
    "ff05::2",
    "4000::1",  # outside 2000::/3
    "1::1",
]

ALLOWED = [
    "1.1.1.1",
    "8.8.8.8",
    "93.184.215.14",
    "100.63.255.255",  # just below CGNAT
    "100.128.0.0",  # just above CGNAT
    "172.15.255.255",
    "172.32.0.0",
    "192.0.1.1",
    "198.17.255.255",
    "198.20.0.0",
    "223.255.255.254",
    "2606:4700:4700::1111",
    "2a00:1450:4001:80b::200e",
    "2001:200::1",  # just outside 2001::/23
    "::ffff:8.8.8.8",  # IPv4-mapped global address
    "64:ff9b::808:808",  # NAT64 of a global address
    "2002:808:808::1",  # 6to4 of a global address
]


@pytest.mark.parametrize("address", FORBIDDEN)
def test_forbidden(address):
    assert is_forbidden_address(address)
    assert is_forbidden_address(ipaddress.ip_address(address))


@pytest.mark.parametrize("address", ALLOWED)
def test_allowed(address):
    assert is_forbidden_address(address) is None
    assert is_forbidden_address(address, allow_loopback=True) is None


@pytest.mark.parametrize(
    "address", ["64:ff9b::a00:1", "2002:7f00:1::", "::127.0.0.1", "64:ff9b:1::1", "3fff::1", "192.88.99.1"]
)
def test_cases_where_ipaddress_is_global_is_wrong(address):
    assert ipaddress.ip_address(address).is_global  # what the standard library says...
    assert is_forbidden_address(address)  # ...and what we do


@pytest.mark.parametrize("address", ["127.0.0.1", "127.1.2.3", "::1"])
def test_allow_loopback_permits_plain_loopback(address):
    assert is_forbidden_address(address)
    assert is_forbidden_address(address, allow_loopback=True) is None


@pytest.mark.parametrize(
    "address",
    ["::ffff:127.0.0.1", "2002:7f00:1::", "64:ff9b::7f00:1", "::127.0.0.1", "::ffff:0:127.0.0.1", "0.0.0.0"],  # noqa: S104
)
def test_allow_loopback_never_permits_hidden_loopback(address):
    assert is_forbidden_address(address, allow_loopback=True)


def test_reasons_name_the_block_and_the_embedded_address():
    assert is_forbidden_address("169.254.169.254") == "link-local, incl. cloud metadata (RFC 3927)"
    assert is_forbidden_address("100.64.0.1") == "shared address space / carrier-grade NAT (RFC 6598)"
    assert is_forbidden_address("64:ff9b::a00:1") == "NAT64 form of 10.0.0.1: private network (RFC 1918)"
    assert is_forbidden_address("2002:7f00:1::") == "6to4 form of 127.0.0.1: loopback (RFC 1122)"
    assert is_forbidden_address("::ffff:127.0.0.1") == "IPv4-mapped form of 127.0.0.1: loopback (RFC 1122)"


def test_embedded_ipv4_extraction():
    assert embedded_ipv4(ipaddress.IPv6Address("::ffff:1.2.3.4")) == (ipaddress.IPv4Address("1.2.3.4"), "IPv4-mapped")
    assert embedded_ipv4(ipaddress.IPv6Address("64:ff9b::102:304")) == (ipaddress.IPv4Address("1.2.3.4"), "NAT64")
    assert embedded_ipv4(ipaddress.IPv6Address("2002:102:304::5")) == (ipaddress.IPv4Address("1.2.3.4"), "6to4")
    assert embedded_ipv4(ipaddress.IPv6Address("2606:4700::1")) is None
    assert embedded_ipv4(ipaddress.IPv6Address("::1")) is None


def test_scoped_link_local_and_garbage():
    assert is_forbidden_address("fe80::1%eth0")
    assert is_forbidden_address("not-an-address") == "not an IP address"
