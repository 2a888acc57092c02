"""normalize_domain: what admins type, what we store and show, and every rejection's message."""

import idna
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from domains.normalize import DomainNameError, normalize_domain, registrable_domain


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
