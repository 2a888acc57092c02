"""Every Admin Center page in headless Chromium, in English and Japanese, on a desktop and on
a phone (390×844): the page is never wider than the viewport, and axe-core finds no serious
or critical accessibility violation."""

import pytest
from axe_playwright_python.sync_playwright import Axe

from tests.support.console_pages import build_console_world, language_cookie, session_cookie

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 390, "height": 844}
SERIOUS = ("serious", "critical")
# Every aria-describedby / aria-labelledby names elements that exist.
DANGLING_REFERENCES = """[...document.querySelectorAll('[aria-describedby], [aria-labelledby]')].flatMap(el =>
  ['aria-describedby', 'aria-labelledby'].flatMap(attr => (el.getAttribute(attr) || '').split(/\\s+/)
    .filter(id => id && !document.getElementById(id)).map(id => `${el.tagName}[${attr}=${id}]`)))"""


@pytest.fixture
def console_world(db):
    return build_console_world()


def _context(browser, live_server, *, viewport, language, user=None):
    context = browser.new_context(base_url=live_server.url, viewport=viewport, locale="en-US")
    cookies = [language_cookie(language, live_server.url)]
    if user is not None:
        cookies.append(session_cookie(user, live_server.url))
    context.add_cookies(cookies)
    page = context.new_page()
    page.set_default_timeout(15000)
    return context, page


def _all_pages(console_world):
    return [(name, path, True) for name, path in console_world.pages] + [
        (name, path, False) for name, path in console_world.public_pages
    ]


def _visit(page, path, language):
    response = page.goto(path)
    assert response.status < 500, f"{path}: {response.status}"
    assert page.locator("html").get_attribute("lang") == language


@pytest.mark.parametrize("language", ["en", "ja"])
def test_no_page_is_wider_than_a_phone(browser, live_server, console_world, language):
    wider = []
    for signed_in in (True, False):
        context, page = _context(
            browser, live_server, viewport=PHONE, language=language, user=console_world.owner if signed_in else None
        )
        try:
            for name, path, needs_user in _all_pages(console_world):
                if needs_user != signed_in:
                    continue
                _visit(page, path, language)
                width = page.evaluate("document.documentElement.scrollWidth")
                if width > PHONE["width"]:
                    wider.append(f"{name} ({path}): {width}px")
                dangling = page.evaluate(DANGLING_REFERENCES)
                assert not dangling, f"{name}: aria references to missing elements: {dangling}"
        finally:
            context.close()
    assert not wider, "pages wider than 390 px:\n" + "\n".join(wider)


@pytest.mark.parametrize("viewport", [DESKTOP, PHONE], ids=["desktop", "phone"])
@pytest.mark.parametrize("language", ["en", "ja"])
def test_axe_finds_no_serious_violation_on_any_page(browser, live_server, console_world, language, viewport):
    axe = Axe()
    found, totals = [], {"pages": 0, "violations": 0, "serious": 0}
    for signed_in in (True, False):
        context, page = _context(
            browser, live_server, viewport=viewport, language=language, user=console_world.owner if signed_in else None
        )
        try:
            for name, path, needs_user in _all_pages(console_world):
                if needs_user != signed_in:
                    continue
                _visit(page, path, language)
                violations = axe.run(page).response["violations"]
                totals["pages"] += 1
                for violation in violations:
                    nodes = len(violation["nodes"])
                    totals["violations"] += nodes
                    print(f"  {name}: {violation['id']} ({violation['impact']}, {nodes}×)")
                    if violation["impact"] in SERIOUS:
                        totals["serious"] += nodes
                        targets = ", ".join(str(node["target"]) for node in violation["nodes"][:3])
                        found.append(f"{name}: {violation['id']} ({violation['impact']}, {nodes}×) {targets}")
        finally:
            context.close()
    print(f"axe-core {language} {viewport['width']}px: {totals}")
    assert not found, "serious or critical axe-core violations:\n" + "\n".join(found)
