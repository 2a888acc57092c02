"""normalize_domain: what admins type, what we store and show, and every rejection's message."""

import idna
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from domains.normalize import DomainNameError, ascii_name, idna_names, normalize_domain, registrable_domain


def rejection(text):
    with pytest.raises(DomainNameError) as caught:
        normalize_domain(text)
    return caught.value.code, caught.value.message.english()


def notes(result):
    return [note.english() for note in result.notes]


# --- normalisation -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    ["example.com", "  example.com  ", "\texample.com\n", "EXAMPLE.COM", "Example.Com.", "ｅｘａｍｐｌｅ．ｃｏｍ"],
)
def test_space_case_trailing_dot_and_full_width_are_normalised_silently(text):
    result = normalize_domain(text)
    assert (result.ascii, result.unicode, result.notes) == ("example.com", "example.com", ())


def test_pasted_url_keeps_only_the_host_with_a_note():
    result = normalize_domain("https://Example.com/path")
    assert result.ascii == "example.com"
    assert notes(result) == ["You entered a web address; we took only its domain name example.com."]


@pytest.mark.parametrize(
    "text",
    [
        "https://user:secret@Example.com:8443/path?q=1#top",
        "http://example.com:8080",
        "HTTPS://admin@example.com/",
    ],
)
def test_pasted_url_with_port_or_user_says_what_was_dropped(text):
    result = normalize_domain(text)
    assert result.ascii == "example.com"
    assert notes(result) == [
        "You entered a web address; we took only its domain name example.com "
        "(without the scheme, user name, port, path and query)."
    ]


@pytest.mark.parametrize("text", ["example.com/some/page", "example.com?x=1", "//example.com/"])
def test_url_without_scheme(text):
    result = normalize_domain(text)
    assert result.ascii == "example.com"
    assert notes(result) == ["You entered a web address; we took only its domain name example.com."]


@pytest.mark.parametrize("text", ["admin@Example.com", "mailto:admin@example.com", " first.last+tag@EXAMPLE.com. "])
def test_email_address_keeps_the_domain_with_a_note(text):
    result = normalize_domain(text)
    assert result.ascii == "example.com"
    assert notes(result) == ["You entered an e-mail address; we took only the part after the @: example.com."]


def test_host_with_port():
    result = normalize_domain("example.com:443")
    assert result.ascii == "example.com"
    assert notes(result) == ["We left out the port number: the domain example.com is verified without a port."]


@pytest.mark.parametrize(
    ("text", "ascii_name", "unicode_name"),
    [
        ("Bücher.de", "xn--bcher-kva.de", "bücher.de"),
        ("xn--bcher-kva.de", "xn--bcher-kva.de", "bücher.de"),
        ("XN--BCHER-KVA.DE", "xn--bcher-kva.de", "bücher.de"),
        ("例え.テスト", "xn--r8jz45g.xn--zckzah", "例え.テスト"),
        ("bücher。de", "xn--bcher-kva.de", "bücher.de"),  # ideographic full stop
        ("faß.de", "xn--fa-hia.de", "faß.de"),  # IDNA 2008, non-transitional: ß kept
        ("https://Bücher.de/", "xn--bcher-kva.de", "bücher.de"),
        ("sub.example.co.uk", "sub.example.co.uk", "sub.example.co.uk"),
        ("someone.github.io", "someone.github.io", "someone.github.io"),
        ("example.test", "example.test", "example.test"),
    ],
)
def test_accepted_names(text, ascii_name, unicode_name):
    result = normalize_domain(text)
    assert (result.ascii, result.unicode) == (ascii_name, unicode_name)


def test_registrable_domain():
    assert registrable_domain("a.b.example.co.uk") == "example.co.uk"
    assert registrable_domain("co.uk") is None


# --- rejections, each with its message -----------------------------------------------------------

REJECTIONS = [
    ("", "empty", "Enter a domain name, for example example.com."),
    ("   ", "empty", "Enter a domain name, for example example.com."),
    (".", "empty", "Enter a domain name, for example example.com."),
    ("192.0.2.1", "ip_address", "An IP address cannot be verified. Enter a domain name, for example example.com."),
    ("2001:db8::1", "ip_address", "An IP address cannot be verified. Enter a domain name, for example example.com."),
    ("[2001:db8::1]", "ip_address", "An IP address cannot be verified. Enter a domain name, for example example.com."),
    ("https://[::1]:8443/", "ip_address", "An IP address cannot be verified. Enter a domain name, for example example.com."),
    ("１９２.０.２.１", "ip_address", "An IP address cannot be verified. Enter a domain name, for example example.com."),
    (
        "127.1",
        "ip_address",
        "This looks like an IP address or a number. Enter a domain name, for example example.com.",
    ),
    (
        "intranet",
        "single_label",
        "“intranet” is a single name; enter a full domain name with at least one dot, e.g. example.com.",
    ),
    ("a" * 64 + ".com", "label_too_long", "Each part of a domain name can be at most 63 characters; one part has 64."),
    (
        ".".join(["a" * 63] * 4) + ".com",
        "too_long",
        "A domain name can be at most 253 characters long (this one has 259).",
    ),
    ("x" * 3000, "too_long", "A domain name can be at most 253 characters long."),
    ("exa mple.com", "space", "A domain name cannot contain spaces."),
    (
        "_twilio.example.com",
        "underscore",
        "A domain name cannot contain an underscore (_). Enter the domain itself (e.g. example.com), "
        "not the host of the TXT record.",
    ),
    ("*.example.com", "wildcard", "A wildcard (*) cannot be verified. Enter the domain name itself."),
    ("exam!ple.com", "invalid_character", "A domain name cannot contain the character “!”."),
    ("exa\x00mple.com", "invalid_character", "A domain name cannot contain invisible or control characters (U+0000)."),
    (
        "example..com",
        "empty_label",
        "A domain name cannot contain empty parts (two dots in a row, or a leading dot).",
    ),
    ("-example.com", "hyphen", "The part “-example” starts or ends with a hyphen, which is not allowed."),
    (
        "ab--cd.com",
        "hyphen",
        "The part “ab--cd” has two hyphens in the third and fourth position, which is reserved.",
    ),
    ("xn--abc.com", "invalid_idn", "The part “xn--abc” is not a valid internationalised (punycode) label."),
    (
        "\u0663\u06f3.com",
        "invalid_idn",
        "The part “\u0663\u06f3” is not a valid internationalised domain name label (IDNA 2008).",
    ),
    (
        "http://",
        "invalid_url",
        "This web address has no domain name in it. Enter only the domain name.",
    ),
    (
        "https://[::1/",
        "invalid_url",
        "This looks like a web address, but we could not read a domain name from it.",
    ),
    ("admin@", "invalid_email", "This looks like an e-mail address without a domain. Enter only the domain name."),
    (
        "localhost",
        "special_use",
        "localhost is a special-use name that nobody can publish records for on the Internet.",
    ),
    (
        "printer.local",
        "special_use",
        "printer.local is a special-use name that nobody can publish records for on the Internet.",
    ),
    (
        "com",
        "public_suffix",
        "com is a public suffix, under which anyone can register names; it cannot be verified. Enter your own "
        "domain, for example example.com.",
    ),
    (
        "co.uk",
        "public_suffix",
        "co.uk is a public suffix, under which anyone can register names; it cannot be verified. Enter your own "
        "domain, for example example.co.uk.",
    ),
    (
        "github.io",
        "public_suffix",
        "github.io is a public suffix, under which anyone can register names; it cannot be verified. Enter your "
        "own domain, for example example.github.io.",
    ),
    (
        "gmail.com",
        "email_provider",
        "gmail.com is a shared e-mail provider used by many people; it cannot be verified by one organization.",
    ),
    (
        "jane@Outlook.com",
        "email_provider",
        "outlook.com is a shared e-mail provider used by many people; it cannot be verified by one organization.",
    ),
    (
        "0-mailer.dynv6.net",
        "disposable_provider",
        "0-mailer.dynv6.net is a disposable e-mail provider; it cannot be verified.",
    ),
]


@pytest.mark.parametrize(("text", "code", "message"), REJECTIONS, ids=[r[1] + ":" + r[0][:20] for r in REJECTIONS])
def test_rejections(text, code, message):
    assert rejection(text) == (code, message)


def test_rejection_messages_are_marked_for_translation():
    from django.utils.translation import override

    with override("ja"):
        with pytest.raises(DomainNameError) as caught:
            normalize_domain("")
    assert caught.value.message.as_json() == {"text": "Enter a domain name, for example example.com.", "params": {}}


# --- properties --------------------------------------------------------------------------------

LABEL_ALPHABET = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-üéßçøå例え日本語テストкирилльцаΣσςξ"
labels = st.text(alphabet=LABEL_ALPHABET, min_size=1, max_size=20)
domain_like = st.builds(
    lambda parts, tld, dot: ".".join([*parts, tld]) + dot,
    st.lists(labels, min_size=1, max_size=4),
    st.sampled_from(["com", "de", "jp", "co.uk", "test", "org", "テスト", "рф"]),
    st.sampled_from(["", "."]),
)


@settings(max_examples=400, suppress_health_check=[HealthCheck.too_slow])
@given(st.one_of(st.text(max_size=300), domain_like, st.from_regex(r"[a-z0-9.:/@\[\]_ -]{0,80}", fullmatch=True)))
def test_never_crashes(text):
    try:
        result = normalize_domain(text)
    except DomainNameError as error:
        assert error.code and error.message.english()
    else:
        assert result.ascii and result.ascii == result.ascii.lower() and result.ascii.isascii()


@settings(max_examples=400, suppress_health_check=[HealthCheck.too_slow])
@given(domain_like)
def test_accepted_names_are_idempotent_and_round_trip(text):
    try:
        result = normalize_domain(text)
    except DomainNameError:
        assume(False)
        return
    assert not result.ascii.endswith(".") and len(result.ascii) <= 253
    assert all(1 <= len(label) <= 63 for label in result.ascii.split("."))
    # Idempotent from either form, with no notes the second time.
    for form in (result.ascii, result.unicode, result.unicode.upper() if result.unicode.isascii() else result.unicode):
        again = normalize_domain(form)
        assert (again.ascii, again.unicode, again.notes) == (result.ascii, result.unicode, ())
    # Unicode <-> punycode round trip.
    assert idna.decode(result.ascii) == result.unicode
    assert idna.encode(result.unicode, uts46=True, transitional=False).decode() == result.ascii


# --- IDNA 2008: the contextual and bidirectional rules decide, with current Unicode tables ----------


@pytest.mark.parametrize(
    ("text", "ascii_name"),
    [
        ("نامه\u200cای.ir", "xn--mgba3gch31f060k.ir"),  # Persian: ZWNJ between joining letters
        ("ශ\u0dca\u200dර\u0dd3.lk", "xn--10cl1a0b660p.lk"),  # Sinhala: ZWJ after the virama (Sri)
        ("क\u094d\u200cष.in", "xn--11b2ezcs70k.in"),  # Devanagari: ZWNJ after the virama
        ("xn--mgba3gch31f060k.ir", "xn--mgba3gch31f060k.ir"),
    ],
)
def test_names_that_need_a_joiner_are_accepted(text, ascii_name):
    result = normalize_domain(text)
    assert result.ascii == ascii_name
    assert result.unicode == idna_names(ascii_name)[1]
    assert normalize_domain(result.unicode).ascii == ascii_name


@pytest.mark.parametrize("text", ["a\u200cb.com", "\u200dexample.com", "ab\u200d.com", "xn--ab-j1t.com"])
def test_a_joiner_where_no_script_needs_one_is_refused_by_the_contextual_rule(text):
    code, message = rejection(text)
    assert code in ("joiner", "invalid_idn")
    if code == "joiner":
        assert "has an invisible joiner (U+200" in message


@pytest.mark.parametrize(
    ("text", "ascii_name"),
    [
        ("\U00011f04\U00011f05\U00011f06.com", "xn--x43dcd.com"),  # Kawi, Unicode 15
        ("\U0001e4d0\U0001e4d1\U0001e4d2.com", "xn--oh5hcd.com"),  # Nag Mundari, Unicode 15
    ],
)
def test_scripts_newer_than_pythons_unicode_tables_are_judged_by_the_idna_tables(text, ascii_name):
    assert normalize_domain(text).ascii == ascii_name


@pytest.mark.parametrize("text", ["1a.\u05e9\u05dc\u05d5\u05dd.com", "\u05e9\u05dc\u05d5\u05dd.a-", "0à.\u05d0.com"])
def test_the_bidi_rule_applies_to_every_label_of_a_right_to_left_name(text):
    code, message = rejection(text)
    assert code in ("bidi", "hyphen")
    if text.startswith(("1a", "0")):
        assert code == "bidi"
        assert message.startswith("This name mixes right-to-left and left-to-right text in a way IDNA does not allow")


def test_a_right_to_left_name_that_follows_the_bidi_rule_is_accepted():
    assert normalize_domain("\u05e9\u05dc\u05d5\u05dd.example.com").ascii == "xn--9dbne9b.example.com"


def test_symbols_idna_2008_disallows_are_named():
    assert rejection("☕.com") == ("invalid_idn", "The part “☕” contains U+2615 “☕”, which IDNA 2008 does not allow.")


@pytest.mark.parametrize(
    ("text", "stored"),
    [("Faß.DE.", "xn--fa-hia.de"), (" Example.COM ", "example.com"), ("bücher.de", "xn--bcher-kva.de"), ("not valid!", "not valid!")],
)
def test_ascii_name_gives_the_stored_form(text, stored):
    assert ascii_name(text) == stored


@pytest.mark.django_db
@pytest.mark.parametrize(
    "typed",
    [
        "x@faß.de",  # IDNA 2008 keeps ß; the IDNA 2003 codec used to map it to fass.de, another domain
        "X@FASS.DE",
        "user@bücher.example",
        "user@\u0645\u06cc\u200c\u062e\u0648\u0627\u0647\u0645.ir",  # Persian, with a ZWNJ the rules allow
    ],
)
def test_e_mail_addresses_are_stored_at_the_domain_the_normaliser_verifies(typed):
    """One normaliser for both: the stored address is at exactly the name a domain check uses."""
    from console.tests.factories import UserFactory

    local, _, domain_part = typed.rpartition("@")
    user = UserFactory(email=typed)
    assert user.email_domain == normalize_domain(domain_part).ascii
    assert user.email == f"{local}@{user.email_domain}"


def test_fass_and_faß_are_different_domains():
    assert normalize_domain("faß.de").ascii == "xn--fa-hia.de" != normalize_domain("fass.de").ascii
