"""Message catalogs (babel): every user-facing text is a message id translated here.

Catalogs are the ``.po`` files under ``core/translations`` and each plugin's
``translations`` folder; they are compiled in memory on first use, so a checkout needs
no build step. ``pybabel extract/update`` (configured in setup.cfg) maintains them.
"""
from __future__ import annotations

import datetime as dt
import io
from functools import lru_cache
from pathlib import Path
from typing import Any

from babel import Locale, UnknownLocaleError
from babel.dates import format_date
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import NullTranslations, Translations

SUPPORTED_LOCALES = ("en", "fr", "es", "fa")
DEFAULT_LOCALE = "en"
RTL_LANGUAGES = frozenset({"fa", "ar", "he", "ur"})
DOMAIN = "messages"

_catalog_dirs: list[Path] = [Path(__file__).parent / "translations"]


def N_(msgid: str) -> str:
    """Mark a message id for extraction; it is translated later, where the locale is known."""
    return msgid



def add_catalog_dir(path: Path) -> None:
    """Add a plugin's ``translations`` folder (same layout as core's)."""
    if path not in _catalog_dirs and path.is_dir():
        _catalog_dirs.append(path)
        translations_for.cache_clear()


@lru_cache(maxsize=256)
def normalize_locale(locale: str | None) -> str:
    """``fr_FR``, ``fr-CH`` or ``FR`` → ``fr``; unknown or empty → the default locale."""
    if not locale:
        return DEFAULT_LOCALE
    try:
        language = Locale.parse(locale.replace("-", "_").split(".")[0]).language
    except (UnknownLocaleError, ValueError):
        return DEFAULT_LOCALE
    return language if language in SUPPORTED_LOCALES else DEFAULT_LOCALE


def is_rtl(locale: str | None) -> bool:
    return normalize_locale(locale) in RTL_LANGUAGES


def _load_po(path: Path, locale: str) -> Translations:
    with path.open("rb") as handle:
        catalog = read_po(handle, locale=locale)
    buffer = io.BytesIO()
    write_mo(buffer, catalog)
    buffer.seek(0)
    return Translations(buffer, domain=DOMAIN)


@lru_cache(maxsize=32)
def translations_for(locale: str) -> NullTranslations:
    """The merged catalogs of the kernel and the plugins for ``locale``."""
    merged: NullTranslations | None = None
    for directory in _catalog_dirs:
        po = directory / locale / "LC_MESSAGES" / f"{DOMAIN}.po"
        if not po.is_file():
            continue
        loaded = _load_po(po, locale)
        if merged is None:
            merged = loaded
        else:
            merged.merge(loaded)  # type: ignore[union-attr]
    return merged or NullTranslations()


# babel applies a locale's number symbols but keeps Latin digits; Persian shows its own.
_NATIVE_DIGITS = {"arabext": str.maketrans("0123456789", "۰۱۲۳۴۵۶۷۸۹"),
                  "arab": str.maketrans("0123456789", "٠١٢٣٤٥٦٧٨٩")}


@lru_cache(maxsize=32)
def babel_locale(locale: str | None) -> Locale:
    """babel's ``Locale`` of a supported language, parsed once: babel's formatting functions
    parse a locale given by name at every call (ten times per formatted amount)."""
    return Locale.parse(normalize_locale(locale))


@lru_cache(maxsize=32)
def _digits_table(locale: str | None) -> dict[int, str] | None:
    return _NATIVE_DIGITS.get(babel_locale(locale).default_numbering_system)


def native_digits(text: str, locale: str | None) -> str:
    """``text`` with the locale's own digits (``۱۲۳`` in Persian), for display only."""
    table = _digits_table(locale)
    return text.translate(table) if table else text


@lru_cache(maxsize=4096)
def format_day(day: dt.date, locale: str | None = None, form: str = "medium") -> str:
    """A date in the user's language: ``24 nov. 2026`` (fr), ``Nov 24, 2026`` (en); in Persian,
    in the solar Hijri calendar with Persian digits (``۳ آذر ۱۴۰۵``). Dates are stored
    Gregorian: the calendar is only how they are shown. Remembered (a few years of days in a
    few languages): a ledger page shows the same days again and again, and babel takes tens of
    microseconds for each."""
    loc = normalize_locale(locale)
    if loc == "fa":
        import jdatetime

        solar = jdatetime.date.fromgregorian(date=day, locale="fa_IR")
        text = solar.strftime("%Y/%m/%d" if form == "short" else "%-d %B %Y")
    else:
        text = format_date(day, form, locale=loc)
    return native_digits(text, loc)


def translate(msgid: str, locale: str | None = None, /, **params: Any) -> str:
    """Translate ``msgid`` into ``locale`` and fill its named ``%(name)s`` parameters."""
    text = translations_for(normalize_locale(locale)).gettext(msgid)
    if params:
        try:
            return text % params
        except (KeyError, ValueError, TypeError):
            return msgid % params
    return text
