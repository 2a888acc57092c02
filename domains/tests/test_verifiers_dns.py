"""check_dns_txt against the real loopback DNS server (tests/support/dns_server.py).

Every check runs twice: on its own, and with its first lookup made the sweep's way
(first_lookups: many names over one socket), which must come to the same result.
"""

import os
import time

import pytest

from domains.verifiers import Outcome, ResolverConfig, check_dns_txt
from domains.verifiers.dns import first_lookups
from tests.support.dns_server import closed_udp_port

TOKEN = "0123456789abcdef0123456789abcdef"
OTHER_TOKEN = "fedcba9876543210fedcba9876543210"
OLD_TOKEN = "aaaaaaaaaaaaaaaabbbbbbbbbbbbbbbb"
LABEL = "_twilio"
PREFIX = "twilio-domain-verification="
VALUE = PREFIX + TOKEN


BATCHED = False  # set by the fixture below: the first lookup made the sweep's way


@pytest.fixture(autouse=True, params=["single", "batched"])
def lookup_path(request, monkeypatch):
    monkeypatch.setattr(f"{__name__}.BATCHED", request.param == "batched")
    return request.param


def check(dns_server, name="example.test", token=TOKEN, old_tokens=(), config=None, seconds=5.0, allow_loopback=True):
    config = config or dns_server.resolver_config()
    deadline = time.monotonic() + seconds
    first = None
    if BATCHED:
        found = list(first_lookups([("key", name)], resolver=config, label=LABEL, deadline=deadline, concurrency=4))
        assert [key for key, _lookup, _seconds in found] in ([], ["key"])
        first = found[0][1] if found else None
    return check_dns_txt(
        name,
        token,
        resolver=config,
        label=LABEL,
        prefix=PREFIX,
        deadline=deadline,
        allow_loopback=allow_loopback,
        old_tokens=old_tokens,
        first_lookup=first,
    )


def english(messages):
    return [m.english() for m in messages]


def test_found(dns_server):
    dns_server.set_txt("_twilio.example.test", VALUE)
    result = check(dns_server)
    assert result.outcome == Outcome.VERIFIED
    assert result.detail.english() == "Found the verification TXT record at _twilio.example.test."
    assert result.diagnostics == ()


def test_found_among_several_records_and_name_case_ignored(dns_server):
    dns_server.set_txt("_TWILIO.Example.TEST", "v=spf1 -all", "something=else", VALUE)
    result = check(dns_server, name="EXAMPLE.test.")
    assert result.outcome == Outcome.VERIFIED


def test_prefix_case_and_surrounding_space_tolerated(dns_server):
    dns_server.set_txt("_twilio.example.test", "  TWILIO-Domain-Verification=" + TOKEN + " ")
    assert check(dns_server).outcome == Outcome.VERIFIED


def test_record_split_into_several_strings_is_joined(dns_server):
    dns_server.set_txt("_twilio.example.test", [PREFIX, TOKEN[:10], TOKEN[10:]])
    assert check(dns_server).outcome == Outcome.VERIFIED


def test_strings_of_different_records_are_not_joined(dns_server):
    dns_server.set_txt("_twilio.example.test", PREFIX, TOKEN)
    result = check(dns_server)
    assert result.outcome != Outcome.VERIFIED


def test_cname_is_followed(dns_server):
    dns_server.set_cname("_twilio.example.test", "verify.provider.test")
    dns_server.set_cname("verify.provider.test", "final.provider.test")
    dns_server.set_txt("final.provider.test", VALUE)
    assert check(dns_server).outcome == Outcome.VERIFIED


def test_absent_record_is_not_found_with_instructions(dns_server):
    dns_server.set_zone("example.test")
    result = check(dns_server)
    assert result.outcome == Outcome.NOT_FOUND
    assert result.detail.english() == "There is no DNS record at _twilio.example.test (NXDOMAIN)."
    assert english(result.diagnostics) == [
        "Add a TXT record at host _twilio with the value twilio-domain-verification="
        + TOKEN
        + ". New records can take up to 72 hours to be visible everywhere."
    ]


def test_name_without_txt_records_is_not_found(dns_server):
    dns_server.set_a("_twilio.example.test", "192.0.2.1")
    result = check(dns_server)
    assert result.outcome == Outcome.NOT_FOUND
    assert result.detail.english() == "_twilio.example.test exists but has no TXT record."


def test_unrelated_txt_values_are_not_found_and_shown_truncated(dns_server):
    dns_server.set_txt("_twilio.example.test", "v=spf1 include:_spf.example.test -all", "x" * 200)
    result = check(dns_server)
    assert result.outcome == Outcome.NOT_FOUND
    detail = result.detail.english()
    assert detail.startswith("Found 2 TXT record(s) at _twilio.example.test but none holds the token. Seen: ")
    assert "“v=spf1 include:_spf.example.test -all”" in detail
    assert "x" * 80 not in detail and "x" * 79 + "…" in detail


def test_only_three_values_are_shown(dns_server):
    dns_server.set_txt("_twilio.example.test", "a1", "a2", "a3", "a4", "a5")
    detail = check(dns_server).detail.english()
    assert detail.count("“") == 3 and detail.endswith(", ….")


def test_another_token_is_a_mismatch(dns_server):
    dns_server.set_txt("_twilio.example.test", PREFIX + OTHER_TOKEN)
    result = check(dns_server)
    assert result.outcome == Outcome.MISMATCH
    assert english(result.diagnostics) == [
        "The TXT record at _twilio.example.test holds a different verification token (perhaps from another "
        "organization or an earlier attempt). Replace it with " + VALUE + "."
    ]


def test_old_token_is_named_as_old(dns_server):
    dns_server.set_txt("_twilio.example.test", PREFIX + OLD_TOKEN)
    result = check(dns_server, old_tokens=(OLD_TOKEN,))
    assert result.outcome == Outcome.MISMATCH
    assert english(result.diagnostics) == [
        "The TXT record at _twilio.example.test holds an older token of this domain, which no longer counts. "
        "Replace it with " + VALUE + "."
    ]


def test_value_wrapped_in_literal_quotes(dns_server):
    dns_server.set_txt("_twilio.example.test", '"' + VALUE + '"')
    result = check(dns_server)
    assert result.outcome == Outcome.MISMATCH
    assert english(result.diagnostics) == [
        "The TXT record at _twilio.example.test contains quotation marks as part of its value. "
        "Remove the extra quotes: the value must be exactly " + VALUE + "."
    ]


def test_value_with_spaces_inside(dns_server):
    dns_server.set_txt("_twilio.example.test", PREFIX + " " + TOKEN[:16] + " " + TOKEN[16:])
    result = check(dns_server)
    assert result.outcome == Outcome.MISMATCH
    assert english(result.diagnostics) == [
        "The TXT record at _twilio.example.test holds the token with extra spaces. "
        "Remove them: the value must be exactly " + VALUE + "."
    ]


def test_token_without_prefix(dns_server):
    dns_server.set_txt("_twilio.example.test", TOKEN)
    result = check(dns_server)
    assert result.outcome == Outcome.MISMATCH
    assert english(result.diagnostics) == [
        "The TXT record at _twilio.example.test holds the token without the prefix " + PREFIX + ". "
        "Change the value to " + VALUE + "."
    ]


def test_token_after_another_prefix(dns_server):
    dns_server.set_txt("_twilio.example.test", "google-site-verification=" + TOKEN)
    result = check(dns_server)
    assert result.outcome == Outcome.NOT_FOUND
    assert english(result.diagnostics) == [
        "The TXT record at _twilio.example.test holds the token after “google-site-verification=” instead of "
        + PREFIX
        + ". Change the value to "
        + VALUE
        + "."
    ]


def test_doubled_name_diagnostic(dns_server):
    dns_server.set_zone("example.test")
    dns_server.set_txt("_twilio.example.test.example.test", VALUE)
    result = check(dns_server)
    assert result.outcome == Outcome.NOT_FOUND
    assert english(result.diagnostics) == [
        "We found the token at _twilio.example.test.example.test: your DNS provider appends the domain to the "
        "host name. Enter only _twilio as the host (not the full name) so the record is at _twilio.example.test."
    ]


def test_doubled_name_of_a_subdomain_in_the_parent_zone(dns_server):
    dns_server.set_txt("_twilio.shop.example.test.example.test", VALUE)
    result = check(dns_server, name="shop.example.test")
    assert english(result.diagnostics) == [
        "We found the token at _twilio.shop.example.test.example.test: your DNS provider appends the domain to "
        "the host name. Enter only _twilio.shop as the host (not the full name) so the record is at "
        "_twilio.shop.example.test."
    ]


def test_token_at_the_apex(dns_server):
    dns_server.set_txt("example.test", "v=spf1 -all", VALUE)
    result = check(dns_server)
    assert result.outcome == Outcome.NOT_FOUND
    assert english(result.diagnostics) == [
        "We found the token in a TXT record at example.test itself. Move it to the host _twilio, "
        "i.e. _twilio.example.test."
    ]


@pytest.mark.parametrize(
    "wrong_host",
    [
        "twilio.example.test",
        "_twilio-domain-verification.example.test",
        "twilio-domain-verification.example.test",
        "_twilio.www.example.test",
        "www.example.test",
    ],
)
def test_token_at_another_label(dns_server, wrong_host):
    dns_server.set_txt(wrong_host, VALUE)
    result = check(dns_server)
    assert result.outcome == Outcome.NOT_FOUND
    assert english(result.diagnostics) == [
        f"We found the token at {wrong_host}, which is the wrong host. Put the record at "
        "_twilio.example.test (host _twilio)."
    ]


def test_old_token_at_another_label(dns_server):
    dns_server.set_txt("twilio.example.test", PREFIX + OLD_TOKEN)
    result = check(dns_server, old_tokens=(OLD_TOKEN,))
    assert english(result.diagnostics) == [
        "We found an older token of this domain at twilio.example.test. It no longer counts: publish "
        + VALUE
        + " at _twilio.example.test."
    ]


def test_old_tokens_never_verify(dns_server):
    dns_server.set_txt("_twilio.example.test", PREFIX + OLD_TOKEN)
    assert check(dns_server, old_tokens=(OLD_TOKEN,)).outcome == Outcome.MISMATCH


def test_servfail_is_inconclusive(dns_server):
    dns_server.set_rcode("_twilio.example.test", "SERVFAIL")
    result = check(dns_server)
    assert result.outcome == Outcome.INCONCLUSIVE
    assert result.detail.english() == (
        "The DNS lookup of _twilio.example.test failed (SERVFAIL). We will try again; nothing changes meanwhile."
    )
    assert result.diagnostics == ()


def test_refused_is_inconclusive(dns_server):
    dns_server.set_rcode("_twilio.example.test", "REFUSED")
    result = check(dns_server)
    assert result.outcome == Outcome.INCONCLUSIVE
    assert "(REFUSED)" in result.detail.english()


def test_unanswered_query_is_inconclusive(dns_server):
    dns_server.set_timeout("_twilio.example.test")
    result = check(dns_server, config=dns_server.resolver_config(timeout=0.5))
    assert result.outcome == Outcome.INCONCLUSIVE
    assert result.detail.english() == (
        "The DNS lookup of _twilio.example.test timed out. We will try again; nothing changes meanwhile."
    )


def test_nameserver_down_is_inconclusive(dns_server):
    config = ResolverConfig(nameservers=("127.0.0.1",), port=closed_udp_port(), timeout=0.5)
    result = check(dns_server, config=config)
    assert result.outcome == Outcome.INCONCLUSIVE


def test_deadline_already_passed_is_inconclusive_without_asking(dns_server):
    dns_server.set_txt("_twilio.example.test", VALUE)
    result = check(dns_server, seconds=-1)
    assert result.outcome == Outcome.INCONCLUSIVE
    assert dns_server.queries == []


def test_no_resolver_cache_between_checks(dns_server):
    assert check(dns_server).outcome == Outcome.NOT_FOUND
    dns_server.set_txt("_twilio.example.test", VALUE)
    assert check(dns_server).outcome == Outcome.VERIFIED
    dns_server.remove("_twilio.example.test")
    assert check(dns_server).outcome == Outcome.NOT_FOUND


# --- authoritative mode ------------------------------------------------------------------------


def test_authoritative_mode_asks_the_zone_nameserver_without_recursion(dns_server):
    dns_server.set_zone("example.test")
    dns_server.set_txt("_twilio.example.test", VALUE)
    result = check(dns_server, config=dns_server.resolver_config(authoritative=True))
    assert result.outcome == Outcome.VERIFIED
    assert result.diagnostics == ()
    direct = [q for q in dns_server.queries_for("_twilio.example.test", "TXT") if not q.recursion_desired]
    assert len(direct) == 1


def test_authoritative_mode_sees_a_record_the_recursive_resolver_does_not(dns_server, dns_second_server):
    # The recursive resolver (127.0.0.1) still has the old view; the zone's own nameserver
    # (127.0.0.2, ns.example.test) already serves the fresh record.
    dns_server.set_zone("example.test", ns_address="127.0.0.2")
    dns_second_server.set_zone("example.test", ns_address="127.0.0.2")
    dns_second_server.set_txt("_twilio.example.test", VALUE)
    assert check(dns_server).outcome == Outcome.NOT_FOUND
    assert check(dns_server, config=dns_server.resolver_config(authoritative=True)).outcome == Outcome.VERIFIED
    assert dns_second_server.queries_for("_twilio.example.test", "TXT")[0].recursion_desired is False


def test_authoritative_mode_nxdomain_from_the_zone_server(dns_server):
    dns_server.set_zone("example.test")
    result = check(dns_server, config=dns_server.resolver_config(authoritative=True))
    assert result.outcome == Outcome.NOT_FOUND
    assert "We could not ask" not in " ".join(english(result.diagnostics))


def test_authoritative_mode_falls_back_to_recursive_when_the_nameserver_is_unreachable(dns_server):
    dns_server.set_zone("example.test")
    dns_server.set_a("ns.example.test", "127.0.0.3")  # nothing listens there
    dns_server.set_txt("_twilio.example.test", VALUE)
    result = check(dns_server, config=dns_server.resolver_config(timeout=0.5, authoritative=True))
    assert result.outcome == Outcome.VERIFIED
    (note,) = english(result.diagnostics)
    assert note.startswith("We could not ask the domain's own nameservers (")
    assert note.endswith("), so this answer comes from a recursive resolver and may be up to a few hours old.")


def test_authoritative_mode_without_a_zone_falls_back(dns_server):
    dns_server.set_txt("_twilio.example.test", VALUE)
    dns_server.set_rcode("example.test", "SERVFAIL")
    dns_server.set_rcode("test", "SERVFAIL")
    result = check(dns_server, config=dns_server.resolver_config(authoritative=True))
    assert result.outcome == Outcome.VERIFIED
    assert english(result.diagnostics)[0].startswith("We could not ask the domain's own nameservers (zone not found")


def test_authoritative_mode_follows_cname_into_another_zone(dns_server):
    dns_server.set_zone("example.test")
    dns_server.set_cname("_twilio.example.test", "token.provider.test")
    dns_server.set_txt("token.provider.test", VALUE)
    assert check(dns_server, config=dns_server.resolver_config(authoritative=True)).outcome == Outcome.VERIFIED


def test_value_with_quotes_and_spaces(dns_server):
    dns_server.set_txt("_twilio.example.test", '" ' + PREFIX + " " + TOKEN + ' "')
    result = check(dns_server)
    assert result.outcome == Outcome.MISMATCH
    assert english(result.diagnostics) == [
        "The TXT record at _twilio.example.test holds the token with extra spaces and quotation marks. "
        "Remove them: the value must be exactly " + VALUE + "."
    ]


def test_name_too_long_for_dns_is_inconclusive_not_a_crash(dns_server):
    name = ".".join(["a" * 63] * 3) + "." + "b" * 60 + ".test"
    assert check(dns_server, name=name).outcome == Outcome.INCONCLUSIVE


# --- through settings (domains.checking) -----------------------------------------------------------


def test_run_check_reads_the_dns_settings(dns_settings, settings):
    from domains.checking import resolver_config_from_settings, run_check

    settings.DOMAIN_TXT_LABEL = "_twilio"
    settings.DOMAIN_TXT_PREFIX = PREFIX
    assert resolver_config_from_settings() == ResolverConfig(
        nameservers=("127.0.0.1",), port=dns_settings.port, timeout=1.0, authoritative=False
    )
    dns_settings.set_txt("_twilio.example.test", VALUE)
    result = run_check("example.test", TOKEN, "dns", deadline_seconds=5)
    assert result.outcome == Outcome.VERIFIED
    assert result.duration_ms >= 0
    dns_settings.set_txt("_twilio.example.test", PREFIX + OLD_TOKEN)
    result = run_check("example.test", TOKEN, "dns", deadline_seconds=5, old_tokens=[OLD_TOKEN])
    assert result.outcome == Outcome.MISMATCH
    assert "older token" in result.diagnostics[0].english()


def test_run_check_unknown_method_is_inconclusive(dns_settings):
    from domains.checking import run_check

    result = run_check("example.test", TOKEN, "carrier-pigeon", deadline_seconds=1)
    assert result.outcome == Outcome.INCONCLUSIVE
    assert result.detail.english() == "Unknown verification method carrier-pigeon."


# --- values reached through a CNAME outside the domain ---------------------------------------------


def test_values_of_an_alias_outside_the_domain_are_not_shown(dns_server):
    dns_server.set_cname("_twilio.example.test", "records.other.test")
    dns_server.set_txt("records.other.test", "internal-secret=hunter2", "v=spf1 -all")
    result = check(dns_server)
    assert result.outcome == Outcome.NOT_FOUND
    assert result.detail.english() == (
        "_twilio.example.test is an alias (CNAME) of records.other.test, outside your domain. Its 2 TXT record(s) "
        "do not hold the token, and none of them starts with " + PREFIX + "."
    )
    assert "hunter2" not in " ".join([result.detail.english(), *english(result.diagnostics)])


def test_alias_outside_the_domain_with_another_token_is_a_mismatch(dns_server):
    dns_server.set_cname("_twilio.example.test", "records.other.test")
    dns_server.set_txt("records.other.test", PREFIX + OTHER_TOKEN)
    result = check(dns_server)
    assert result.outcome == Outcome.MISMATCH
    assert "one of them starts with " + PREFIX + " but holds a different token" in result.detail.english()
    assert OTHER_TOKEN not in " ".join([result.detail.english(), *english(result.diagnostics)])


def test_alias_inside_the_domain_still_shows_what_it_holds(dns_server):
    dns_server.set_cname("_twilio.example.test", "records.example.test")
    dns_server.set_txt("records.example.test", "v=spf1 -all")
    assert "Seen: “v=spf1 -all”" in check(dns_server).detail.english()


# --- authoritative mode asks only nameservers at addresses we may contact ---------------------------


@pytest.mark.parametrize(
    ("rdtype", "address"),
    [("A", "10.0.0.53"), ("A", "192.168.1.53"), ("A", "169.254.0.53"), ("AAAA", "fe80::53"), ("AAAA", "fd00::53")],
)
def test_nameservers_at_special_purpose_addresses_are_not_asked(dns_server, rdtype, address):
    dns_server.set_zone("example.test")
    dns_server.remove("ns.example.test")
    getattr(dns_server, f"set_{rdtype.lower()}")("ns.example.test", address)
    dns_server.set_txt("_twilio.example.test", VALUE)
    result = check(dns_server, config=dns_server.resolver_config(authoritative=True))
    assert result.outcome == Outcome.VERIFIED
    (note,) = english(result.diagnostics)
    assert note.startswith(
        "We could not ask the domain's own nameservers (their addresses are special-purpose, so we do not query "
        f"them ({address}: "
    )
    assert [q for q in dns_server.queries if not q.recursion_desired] == []


def test_loopback_nameservers_are_asked_only_with_the_loopback_allowance(dns_server, dns_second_server):
    dns_server.set_zone("example.test", ns_address="127.0.0.2")
    dns_second_server.set_zone("example.test", ns_address="127.0.0.2")
    dns_second_server.set_txt("_twilio.example.test", VALUE)
    config = dns_server.resolver_config(authoritative=True)
    refused = check(dns_server, config=config, allow_loopback=False)
    assert refused.outcome == Outcome.NOT_FOUND  # the recursive resolver's older view
    assert "127.0.0.2: loopback" in english(refused.diagnostics)[-1]
    assert dns_second_server.queries == []
    assert check(dns_server, config=config, allow_loopback=True).outcome == Outcome.VERIFIED


def test_run_check_passes_the_loopback_allowance_to_the_dns_check(dns_settings, settings):
    from domains.checking import run_check

    settings.DOMAIN_TXT_LABEL = "_twilio"
    settings.DOMAIN_TXT_PREFIX = PREFIX
    settings.DNS_AUTHORITATIVE_MODE = True
    dns_settings.set_zone("example.test")
    dns_settings.set_txt("_twilio.example.test", VALUE)
    settings.HTTPS_ALLOW_LOOPBACK = True
    assert run_check("example.test", TOKEN, "dns", deadline_seconds=5).diagnostics == ()
    settings.HTTPS_ALLOW_LOOPBACK = False
    (note,) = english(run_check("example.test", TOKEN, "dns", deadline_seconds=5).diagnostics)
    assert "127.0.0.1: loopback" in note


# --- hard deadlines: a nameserver that never answers --------------------------------------------------

# 2 s keeps the suite quick; ATTACK_DEADLINE_SECONDS=8 (Verify now) or 20 (background) for real figures.
ATTACK_DEADLINE = float(os.environ.get("ATTACK_DEADLINE_SECONDS", "2"))
MARGIN = 1.5


def timed_check(dns_server, **kwargs):
    started = time.monotonic()
    result = check(dns_server, seconds=ATTACK_DEADLINE, **kwargs)
    elapsed = time.monotonic() - started
    print(f"check ended after {elapsed:.2f} s with deadline {ATTACK_DEADLINE:g} s: {result.detail.english()}")
    assert elapsed < ATTACK_DEADLINE + MARGIN
    return result


def test_resolver_that_never_answers_is_cut_off_at_the_deadline(dns_server, silent_udp_port):
    config = ResolverConfig(nameservers=("127.0.0.1",), port=silent_udp_port, timeout=60.0)
    result = timed_check(dns_server, config=config)
    assert result.outcome == Outcome.INCONCLUSIVE
    assert "timed out" in result.detail.english()


def test_zone_nameserver_that_never_answers_is_cut_off_at_the_deadline(dns_server, dns_second_server):
    dns_server.set_zone("example.test", ns_address="127.0.0.2")
    dns_second_server.set_timeout("_twilio.example.test")
    result = timed_check(dns_server, config=dns_server.resolver_config(timeout=60.0, authoritative=True))
    assert result.outcome == Outcome.INCONCLUSIVE


# --- zone cuts below the domain: a referral is never "no such record" -------------------------------


def test_delegated_label_is_followed_to_the_child_zone_servers(dns_server, dns_second_server):
    # The parent's server refers queries for _twilio.example.test to the child zone's server
    # (127.0.0.2), which holds the record; the recursive view has not seen it yet.
    dns_server.set_zone("example.test")
    dns_server.set_delegation("_twilio.example.test", ("ns1.dns-host.test", "127.0.0.2"))
    dns_second_server.set_zone("_twilio.example.test", ns_address="127.0.0.2")
    dns_second_server.set_txt("_twilio.example.test", VALUE)
    result = check(dns_server, config=dns_server.resolver_config(authoritative=True))
    assert result.outcome == Outcome.VERIFIED
    assert result.diagnostics == ()
    assert [q.recursion_desired for q in dns_second_server.queries_for("_twilio.example.test", "TXT")] == [False]


def test_delegated_label_without_the_record_is_not_found_by_its_own_servers(dns_server, dns_second_server):
    dns_server.set_zone("example.test")
    dns_server.set_delegation("_twilio.example.test", ("ns1.dns-host.test", "127.0.0.2"))
    dns_second_server.set_zone("_twilio.example.test", ns_address="127.0.0.2")
    result = check(dns_server, config=dns_server.resolver_config(authoritative=True))
    assert result.outcome == Outcome.NOT_FOUND
    assert result.detail.english() == "_twilio.example.test exists but has no TXT record."
    assert dns_second_server.queries_for("_twilio.example.test", "TXT")


def test_delegated_subdomain_is_followed(dns_server, dns_second_server):
    dns_server.set_zone("example.test")
    dns_server.set_delegation("shop.example.test", ("ns.shop.example.test", "127.0.0.2"))
    dns_second_server.set_zone("shop.example.test", ns_address="127.0.0.2")
    dns_second_server.set_txt("_twilio.shop.example.test", VALUE)
    result = check(dns_server, name="shop.example.test", config=dns_server.resolver_config(authoritative=True))
    assert result.outcome == Outcome.VERIFIED


def test_referral_to_servers_we_may_not_ask_falls_back_to_the_recursive_answer(dns_server):
    dns_server.set_zone("example.test")
    dns_server.set_delegation("_twilio.example.test", ("ns1.dns-host.test", "10.0.0.53"))
    dns_server.set_txt("_twilio.example.test", VALUE)  # what the recursive resolver sees
    result = check(dns_server, config=dns_server.resolver_config(authoritative=True))
    assert result.outcome == Outcome.VERIFIED
    (note,) = english(result.diagnostics)
    assert note.startswith("We could not ask the domain's own nameservers (_twilio.example.test is delegated and 10.0.0.53")


def test_referral_is_never_read_as_no_record_even_when_the_child_servers_are_down(dns_server):
    dns_server.set_zone("example.test")
    dns_server.set_delegation("_twilio.example.test", ("ns1.dns-host.test", "127.0.0.3"))  # nothing listens
    dns_server.set_rcode("_twilio.example.test", "SERVFAIL")  # and the recursive resolver fails too
    result = check(dns_server, config=dns_server.resolver_config(timeout=0.5, authoritative=True))
    assert result.outcome == Outcome.INCONCLUSIVE


# --- one dead nameserver beside a live one -------------------------------------------------------------


def test_a_dead_nameserver_does_not_keep_the_live_one_from_being_asked(dns_server, dns_second_server):
    # ns1 (127.0.0.2) never answers; ns2 (127.0.0.1) serves the record. A per-server timeout
    # longer than the whole deadline must not let ns1 use up the check.
    dns_server.set_zone("example.test")
    dns_server.set_ns("example.test", "ns1.example.test", "ns2.example.test")
    dns_server.set_a("ns1.example.test", "127.0.0.2")
    dns_server.set_a("ns2.example.test", "127.0.0.1")
    dns_server.set_txt("_twilio.example.test", VALUE)
    dns_second_server.set_timeout("_twilio.example.test")
    started = time.monotonic()
    result = check(dns_server, config=dns_server.resolver_config(timeout=60.0, authoritative=True), seconds=4.0)
    print(f"verified through the live nameserver after {time.monotonic() - started:.2f} s (deadline 4 s)")
    assert result.outcome == Outcome.VERIFIED
    assert result.diagnostics == ()  # the answer came from the zone's own (live) nameserver
    assert [q for q in dns_server.queries_for("_twilio.example.test", "TXT") if not q.recursion_desired]


def test_a_lame_nameserver_answer_is_not_taken_as_no_record(dns_server, dns_second_server):
    # 127.0.0.2 is listed as a nameserver of the zone but refers upward / answers without
    # authority; the other nameserver has the record.
    dns_server.set_zone("example.test")
    dns_server.set_ns("example.test", "ns1.example.test", "ns2.example.test")
    dns_server.set_a("ns1.example.test", "127.0.0.2")
    dns_server.set_a("ns2.example.test", "127.0.0.1")
    dns_server.set_txt("_twilio.example.test", VALUE)
    dns_second_server.set_delegation("test", ("a.root-servers.test", "127.0.0.9"))
    result = check(dns_server, config=dns_server.resolver_config(authoritative=True))
    assert result.outcome == Outcome.VERIFIED


# --- the token is hexadecimal: its case does not matter ----------------------------------------------


@pytest.mark.parametrize("value", [PREFIX + TOKEN.upper(), PREFIX.upper() + TOKEN.upper(), "Twilio-Domain-Verification=" + TOKEN])
def test_token_and_prefix_in_another_case_verify(dns_server, value):
    dns_server.set_txt("_twilio.example.test", value)
    assert check(dns_server).outcome == Outcome.VERIFIED


def test_old_token_in_upper_case_is_still_old(dns_server):
    dns_server.set_txt("_twilio.example.test", PREFIX + OLD_TOKEN.upper())
    result = check(dns_server, old_tokens=(OLD_TOKEN,))
    assert result.outcome == Outcome.MISMATCH
    assert "older token" in english(result.diagnostics)[0]


# --- a wildcard record is named as such ----------------------------------------------------------------


def test_token_in_a_wildcard_record_is_named_as_a_wildcard(dns_server):
    # _twilio.example.test exists (it has an A record), so the wildcard does not cover it.
    dns_server.set_zone("example.test")
    dns_server.set_a("_twilio.example.test", "192.0.2.1")
    dns_server.set_txt("*.example.test", VALUE)
    result = check(dns_server)
    assert result.outcome == Outcome.NOT_FOUND
    assert english(result.diagnostics) == [
        "We found the token only in a wildcard TXT record (*.example.test), which does not apply to "
        "_twilio.example.test. Publish the TXT record at _twilio.example.test itself."
    ]


# --- many first lookups at once (the sweep) ------------------------------------------------------


def test_first_lookups_of_many_names_match_each_lookup_made_alone(dns_server):
    """More names than may be in flight, every kind of answer: each as the check's own lookup."""
    from domains.verifiers.dns import _recursive_txt

    names = []
    for index in range(12):
        name = f"n{index}.test"
        names.append(name)
        kind = index % 6
        if kind == 0:
            dns_server.set_txt(f"_twilio.{name}", VALUE)
        elif kind == 1:
            dns_server.set_txt(f"_twilio.{name}", "something=else", PREFIX + OTHER_TOKEN)
        elif kind == 2:
            dns_server.set_zone(name)  # NXDOMAIN
        elif kind == 3:
            dns_server.set_cname(f"_twilio.{name}", f"target{index}.provider.test")
            dns_server.set_txt(f"target{index}.provider.test", VALUE)
        elif kind == 4:
            dns_server.set_rcode(f"_twilio.{name}", "SERVFAIL")
        else:
            dns_server.set_timeout(f"_twilio.{name}")
    config = dns_server.resolver_config(timeout=0.5)
    deadline = time.monotonic() + 5
    batched = {
        key: lookup
        for key, lookup, _seconds in first_lookups(
            list(enumerate(names)), resolver=config, label=LABEL, deadline=deadline, concurrency=3
        )
    }
    # SERVFAIL is left to the check's own lookup (resolve() handles what follows); the rest settle here.
    assert sorted(batched) == [index for index in range(12) if index % 6 != 4]
    for index, lookup in batched.items():
        alone = _recursive_txt(f"_twilio.{names[index]}", config, time.monotonic() + 5)
        assert (lookup.status, lookup.values, lookup.error, lookup.name) == (
            alone.status,
            alone.values,
            alone.error,
            alone.name,
        ), names[index]


def test_first_lookups_leave_authoritative_mode_to_each_check(dns_server):
    dns_server.set_txt("_twilio.example.test", VALUE)
    config = dns_server.resolver_config(authoritative=True)
    found = first_lookups([(1, "example.test")], resolver=config, label=LABEL, deadline=time.monotonic() + 5, concurrency=4)
    assert list(found) == []
    assert dns_server.queries == []
