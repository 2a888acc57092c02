"""Every string of the interface has a Japanese translation, and the compiled catalogue is current.

makemessages runs on a temporary copy of the project, so the committed .po is never modified;
the copy's catalogue keeps the committed translations and adds any message the code uses
that the committed .po lacks.
"""

import shutil
import subprocess
import sys
from pathlib import Path

import polib
import pytest

REPOSITORY = Path(__file__).resolve().parents[2]
PO_PATH = Path("locale/ja/LC_MESSAGES/django.po")
MO_PATH = Path("locale/ja/LC_MESSAGES/django.mo")
NOT_COPIED = shutil.ignore_patterns(".venv", "venv", "var", ".git", "node_modules", "__pycache__", "*.pyc", "*.sqlite3")


def _needs_gettext():
    if shutil.which("xgettext") is None or shutil.which("msgmerge") is None:
        pytest.skip("GNU gettext (xgettext, msgmerge) is not installed: apt-get install gettext to run this check")


def _key(entry) -> tuple[str, str]:
    return (entry.msgctxt or "", entry.msgid)


def _describe(entry) -> str:
    context = f" [context {entry.msgctxt!r}]" if entry.msgctxt else ""
    state = "fuzzy" if entry.fuzzy else "untranslated"
    return f"  - {entry.msgid!r}{context} ({state})"


@pytest.fixture(scope="module")
def extracted_catalogue(tmp_path_factory) -> polib.POFile:
    """The catalogue makemessages builds from today's code, merged with the committed .po."""
    _needs_gettext()
    copy = tmp_path_factory.mktemp("messages") / "project"
    shutil.copytree(REPOSITORY, copy, ignore=NOT_COPIED)
    result = subprocess.run(
        [
            sys.executable,
            "manage.py",
            "makemessages",
            "-l",
            "ja",
            "--no-obsolete",
            "--no-location",
            "-i",
            ".venv/*",
            "-i",
            "var/*",
        ],
        cwd=copy,
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert result.returncode == 0, result.stderr
    return polib.pofile(str(copy / PO_PATH))


def test_every_message_has_a_japanese_translation(extracted_catalogue):
    missing = [entry for entry in extracted_catalogue if not entry.obsolete and not entry.translated()]
    assert not missing, (
        f"{len(missing)} message(s) lack a Japanese translation in {PO_PATH} "
        "(run `make messages`, translate, and commit the .po and .mo):\n" + "\n".join(map(_describe, missing))
    )


def test_the_committed_po_lists_every_message_of_the_code(extracted_catalogue):
    committed = {_key(entry) for entry in polib.pofile(str(REPOSITORY / PO_PATH)) if not entry.obsolete}
    absent = [entry for entry in extracted_catalogue if not entry.obsolete and _key(entry) not in committed]
    assert not absent, f"{len(absent)} message(s) of the code are missing from {PO_PATH}:\n" + "\n".join(
        f"  - {entry.msgid!r}" for entry in absent
    )


def _translations(catalogue) -> dict:
    table = {}
    for entry in catalogue:
        if not entry.msgid or getattr(entry, "obsolete", False) or "fuzzy" in getattr(entry, "flags", ()):
            continue
        if not (entry.msgstr or any(entry.msgstr_plural.values())):
            continue
        table[_key(entry)] = dict(entry.msgstr_plural) if entry.msgid_plural else entry.msgstr
    return table


def test_the_compiled_catalogue_is_up_to_date():
    po_file, mo_file = REPOSITORY / PO_PATH, REPOSITORY / MO_PATH
    if not po_file.exists():
        pytest.skip(f"{PO_PATH} does not exist yet")
    assert mo_file.exists(), f"{MO_PATH} is missing: run `manage.py compilemessages -l ja` and commit it"
    expected = _translations(polib.pofile(str(po_file)))
    compiled = _translations(polib.mofile(str(mo_file)))
    stale = sorted(key[1] for key in expected.keys() ^ compiled.keys()) + sorted(
        key[1] for key in expected.keys() & compiled.keys() if expected[key] != compiled[key]
    )
    assert not stale, f"{MO_PATH} does not match {PO_PATH}; run compilemessages. Differs for: {stale[:20]}"
