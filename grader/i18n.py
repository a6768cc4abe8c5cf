"""Feedback in the student's language: gettext catalogues of the domain "grader".

Every message a student reads is written in English in the code, wrapped in
``_()`` (translated where it is made) or ``N_()`` (only marked, for texts
kept in class-level tables and translated where they are used), and looked
up in ``grader/locale/<lang>/LC_MESSAGES/grader.mo``. Messages are format
strings with named placeholders, filled after translation::

    _("{name} has shape {got} but should have shape {want}").format(...)

The catalogues are kept with Babel (see ``babel.cfg`` and the README):

    pybabel extract -F babel.cfg -k _ -k N_ -o grader/locale/grader.pot grader
    pybabel update -i grader/locale/grader.pot -d grader/locale -D grader
    pybabel compile -d grader/locale -D grader

Diagnosis codes and statuses are a machine vocabulary and never translated.
The language is one per process: ``set_language`` (or the ``language``
context manager); ``python -m grader`` sets it from ``--lang`` and hands it
on to the pytest run (and its xdist workers) as ``--grader-lang``.
"""
from __future__ import annotations

import gettext as _gettext
import os
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator, Mapping

DOMAIN = "grader"
LOCALE_DIR = Path(__file__).resolve().parent / "locale"
LANGUAGES = ("en", "zh_CN")
DEFAULT = "en"

_language = DEFAULT
_translations: _gettext.NullTranslations = _gettext.NullTranslations()


def normalise(lang: str | None) -> str | None:
    """``zh``, ``zh-CN``, ``zh_CN.UTF-8``, ``zh_Hans`` -> ``zh_CN``; ``en*``, ``C`` -> ``en``.

    None for a language there is no catalogue for.
    """
    if not lang:
        return None
    code = lang.strip().split(".")[0].split("@")[0].replace("-", "_")
    lowered = code.lower()
    if lowered.startswith("zh"):
        return "zh_CN"
    if lowered.startswith("en") or lowered in ("c", "posix"):
        return "en"
    return None


def default_language(environ: Mapping[str, str] | None = None) -> str:
    """``GRADER_LANG``, then ``LANGUAGE``, ``LC_ALL``, ``LANG``; English otherwise.

    The first of them that is set decides: a zh* locale gives zh_CN, any
    other gives English. ``LANGUAGE`` may be a list (``zh_CN:en``); its
    first entry counts.
    """
    environ = os.environ if environ is None else environ
    for variable in ("GRADER_LANG", "LANGUAGE", "LC_ALL", "LANG"):
        value = environ.get(variable, "").strip()
        if value:
            return normalise(value.split(":")[0]) or DEFAULT
    return DEFAULT


def set_language(lang: str | None) -> str:
    """Translate from now on into ``lang`` (normalised); return the language set."""
    global _language, _translations
    chosen = normalise(lang) or DEFAULT
    if chosen == DEFAULT:
        _translations = _gettext.NullTranslations()
    else:
        _translations = _gettext.translation(DOMAIN, LOCALE_DIR, languages=[chosen],
                                             fallback=True)
    _language = chosen
    return chosen


def get_language() -> str:
    return _language


@contextmanager
def language(lang: str | None) -> Iterator[str]:
    """Translate into ``lang`` inside the block, then go back to what was set before."""
    previous = _language
    try:
        yield set_language(lang)
    finally:
        set_language(previous)


def _(message: str) -> str:
    """The message in the current language (itself, in English or if untranslated)."""
    return _translations.gettext(message)


def ngettext(singular: str, plural: str, count: int) -> str:
    return _translations.ngettext(singular, plural, count)


def N_(message: str) -> str:
    """Mark a message for extraction only; translate it with ``_()`` where it is used."""
    return message


gettext = _
