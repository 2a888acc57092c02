"""check_dns_txt against the real loopback DNS server (tests/support/dns_server.py)."""

import time

import pytest

from domains.verifiers import INCONCLUSIVE, MISMATCH, NOT_FOUND, VERIFIED, ResolverConfig, check_dns_txt
from tests.support.dns_server import closed_udp_port

TOKEN = "0123456789abcdef0123456789abcdef"
OTHER_TOKEN = "fedcba9876543210fedcba9876543210"
OLD_TOKEN = "aaaaaaaaaaaaaaaabbbbbbbbbbbbbbbb"
LABEL = "_twilio"
PREFIX = "twilio-domain-verification="
VALUE = PREFIX + TOKEN


def check(dns_server, name="example.test", token=TOKEN, old_tokens=(), config=None, seconds=5.0):
    return check_dns_txt(
        name,
        token,
        resolver=config or dns_server.resolver_config(),
        label=LABEL,
        prefix=PREFIX,
        deadline=time.monotonic() + seconds,
        old_tokens=old_tokens,
    )


def english(messages):
    return [m.english() for m in messages]


def test_found(dns_server):
    dns_server.set_txt("_twilio.example.test", VALUE)
    result = check(dns_server)
    assert result.outcome == VERIFIED
    assert result.detail.english() == "Found the verification TXT record at _twilio.example.test."
    assert result.diagnostics == ()
