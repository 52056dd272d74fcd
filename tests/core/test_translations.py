"""The Chinese catalog stays complete and correct.

Every message the code marks for translation (extracted exactly as
``make translations`` does: the Makefile's KEYWORDS and directories, the
babel.cfg mapping) must have a Chinese translation, and every translation must
keep its message's ``{placeholders}``: messages are formatted with
``str.format(**params)`` (core.i18n.gettext), so a renamed or dropped
placeholder raises or loses information at run time.
"""

from __future__ import annotations

import itertools
import re
import shlex
import string
from collections.abc import Iterator
from pathlib import Path

import pytest
from babel.messages.catalog import Catalog, Message
from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir
from babel.messages.frontend import parse_keywords, parse_mapping_cfg
from babel.messages.pofile import read_po

from core.errors import InvalidInput
from core.i18n import TRANSLATIONS_DIR, locale_as

ROOT = Path(__file__).resolve().parents[2]
MAKEFILE = ROOT / "Makefile"
CATALOG = TRANSLATIONS_DIR / "zh_CN" / "LC_MESSAGES" / "messages.po"
HOW_TO_FIX = ("run `make translations`, then translate the new entries in "
              "core/translations/zh_CN/LC_MESSAGES/messages.po")


def _makefile_logical_lines() -> list[str]:
    """The Makefile's lines with backslash continuations joined."""
    return re.sub(r"\\\n\s*", " ", MAKEFILE.read_text(encoding="utf-8")).splitlines()


def _make_keywords() -> list[str]:
    """The ``-k`` specs of the Makefile's KEYWORDS variable."""
    for line in _makefile_logical_lines():
        match = re.match(r"^KEYWORDS\s*:?=\s*(.*)$", line)
        if match:
            args = shlex.split(match.group(1))
            specs = [value for flag, value in itertools.pairwise(args) if flag == "-k"]
            assert specs, "KEYWORDS in the Makefile names no -k keyword"
            return specs
    raise AssertionError("the Makefile has no KEYWORDS variable")


def _make_extract_args() -> tuple[str, list[str]]:
    """The mapping file (-F) and the source directories of `pybabel extract`."""
    for line in _makefile_logical_lines():
        if "pybabel extract" not in line:
            continue
        args = shlex.split(line.split("pybabel extract", 1)[1])
        mapping, dirs, i = None, [], 0
        while i < len(args):
            arg = args[i]
            if arg in ("-F", "--mapping-file"):
                mapping, i = args[i + 1], i + 2
            elif arg in ("-o", "--output-file", "-k", "--keyword"):
                i += 2
            elif arg.startswith("-") or arg.startswith("$"):
                i += 1
            else:
                dirs.append(arg)
                i += 1
        assert mapping and dirs, f"cannot read the mapping file and directories from: {line}"
        return mapping, dirs
    raise AssertionError("the Makefile has no `pybabel extract` command")


def _extracted() -> Iterator[tuple[str, str, int]]:
    """(msgid, file, line) of every message `make translations` would extract."""
    keywords = DEFAULT_KEYWORDS.copy()  # pybabel adds its defaults to the -k keywords
    keywords.update(parse_keywords(_make_keywords()))
    mapping, dirs = _make_extract_args()
    with (ROOT / mapping).open(encoding="utf-8") as handle:
        method_map, options_map = parse_mapping_cfg(handle, mapping)
    for directory in dirs:
        path = ROOT / directory
        assert path.is_dir(), f"the Makefile extracts from {directory}/, which does not exist"
        for filename, lineno, message, _comments, _context in extract_from_dir(
                path, method_map, options_map, keywords=keywords):
            msgid = message[0] if isinstance(message, tuple) else message
            yield msgid, f"{directory}/{filename}", lineno


def _catalog() -> Catalog:
    with CATALOG.open("rb") as handle:
        return read_po(handle, locale="zh_CN")


def _entries() -> list[Message]:
    return [m for m in _catalog() if m.id]


def _texts(message: Message) -> list[str]:
    ids = message.id if isinstance(message.id, tuple | list) else (message.id,)
    strings = message.string if isinstance(message.string, tuple | list) else (message.string,)
    return [*ids, *strings]


def _fields(text: str) -> list[str]:
    return [name for _, name, _, _ in string.Formatter().parse(text) if name is not None]


def test_the_catalog_parses_and_has_no_fuzzy_entries():
    entries = _entries()
    assert entries, f"{CATALOG} holds no messages"
    # A fuzzy translation is left out of the compiled catalog: it would show English.
    fuzzy = sorted(m.id for m in entries if m.fuzzy)
    assert not fuzzy, "fuzzy entries (check the translation, then remove `#, fuzzy`):\n" + \
        "\n".join(fuzzy)


def test_every_message_in_the_code_is_translated():
    catalog = _catalog()
    missing: dict[str, str] = {}
    for msgid, filename, lineno in _extracted():
        message = catalog.get(msgid)
        if message is None or not all(_texts(message)):
            missing.setdefault(msgid, f"{filename}:{lineno}")
    assert not missing, (
        f"{len(missing)} message(s) without a Chinese translation; {HOW_TO_FIX}:\n"
        + "\n".join(f"  {where}: {msgid!r}" for msgid, where in sorted(missing.items()))
    )


def test_extraction_finds_the_messages_it_should():
    """Guards the guard: if extraction silently found nothing, the test above would pass."""
    found = {msgid for msgid, _, _ in _extracted()}
    assert "{field}: an amount cannot be negative." in found  # InvalidInput(...), core/money.py
    assert "Error: {message}" in found  # _(...), webapp/cli.py
    assert "A reversal must name the entry it reverses." in found  # Violation(rule, msg)


@pytest.mark.parametrize("message", _entries(), ids=lambda m: str(m.id)[:50])
def test_translation_keeps_the_placeholders(message):
    texts = _texts(message)
    try:
        fields = [_fields(text) for text in texts]
    except ValueError as error:  # an unmatched { or }
        pytest.fail(f"malformed braces in {texts!r}: {error}")
    wanted = set(fields[0])
    # gettext formats with keyword parameters only: "{}" or "{0}" cannot be filled.
    positional = [name for name in wanted if not name.isidentifier()]
    assert not positional, f"{message.id!r}: use named placeholders, not {positional}"
    for text, names in zip(texts[1:], fields[1:], strict=True):
        assert set(names) == wanted, (
            f"placeholders differ:\n  msgid  {message.id!r}: {sorted(wanted)}\n"
            f"  msgstr {text!r}: {sorted(set(names))}"
        )


def test_messages_follow_the_locale():
    error = InvalidInput("{field}: an amount cannot be negative.", field="--amount")
    with locale_as("zh_CN"):
        assert error.message == "--amount：金额不能为负数。"
        assert InvalidInput("{field}: an amount must be greater than zero.",
                            field="x").message == "x：金额必须大于零。"
    with locale_as("en"):
        assert error.message == "--amount: an amount cannot be negative."
        assert InvalidInput("{field}: an amount must be greater than zero.",
                            field="x").message == "x: an amount must be greater than zero."
