"""French / English: which language a page is in, and which label of a thing to show.

The language of a page is, in order: the ``lang`` query parameter (the switch in the header
links to ``?lang=fr`` / ``?lang=en``), the ``lang`` cookie that the switch sets so that the
choice sticks, the ``Accept-Language`` header, then French (the language of the sources).
Pages whose text depends on it say so with ``Vary: Accept-Language, Cookie``.

``init_app`` registers the cookie and the template helpers; ``pick`` is the pure label choice.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from flask import Flask, Request, Response, g, request
from werkzeug.datastructures import LanguageAccept
from werkzeug.http import parse_accept_header

LANGUAGES: tuple[str, ...] = ("fr", "en")
DEFAULT = "fr"
COOKIE = "lang"
_YEAR = 365 * 24 * 3600


def choose(param: str | None, cookie: str | None, accept_language: str | None) -> str:
    """The page language from the query parameter, the cookie, then Accept-Language."""
    for explicit in (param, cookie):
        if explicit and explicit.strip().lower() in LANGUAGES:
            return explicit.strip().lower()
    # By quality, comparing primary subtags ("fr-BE" asks for French); "*" takes the default.
    for tag, quality in sorted(parse_accept_header(accept_language or "", LanguageAccept), key=lambda r: -r[1]):
        primary = tag.split("-", 1)[0].lower()
        if quality > 0 and primary in LANGUAGES:
            return primary
        if quality > 0 and primary == "*":
            return DEFAULT
    return DEFAULT


def request_lang(req: Request | None = None) -> str:
    """The language of the current request (computed once per request)."""
    if req is None and "lang" in g:
        return g.lang
    req = req or request
    lang = choose(req.args.get("lang"), req.cookies.get(COOKIE), req.headers.get("Accept-Language"))
    if req is request:
        g.lang = lang
    return lang


def pick(values: Iterable[tuple[str, str | None]], lang: str) -> str | None:
    """The best of ``(text, language tag)`` pairs for ``lang``: that language (or a regional
    variant of it), then the other site language, then untagged text, then anything."""
    by_rank: dict[int, str] = {}
    others = [x for x in LANGUAGES if x != lang]
    for text, tag in values:
        base = (tag or "").split("-", 1)[0].lower()
        if base == lang:
            rank = 0
        elif base in others:
            rank = 1 + others.index(base)
        elif not base:
            rank = 1 + len(others)
        else:
            rank = 2 + len(others)
        if rank not in by_rank or text < by_rank[rank]:
            by_rank[rank] = text
    return by_rank[min(by_rank)] if by_rank else None


def _remember_choice(response: Response) -> Response:
    """Make an explicit ``?lang=`` stick (cookie), and tell caches that HTML pages vary."""
    lang = request.args.get("lang", "").strip().lower()
    if lang in LANGUAGES and request.cookies.get(COOKIE) != lang:
        response.set_cookie(COOKIE, lang, max_age=_YEAR, samesite="Lax", httponly=True)
    if response.mimetype == "text/html":
        response.vary.update(("Accept-Language", "Cookie"))
    return response


def text(messages: Mapping[str, Mapping[str, str]], key: str, lang: str) -> str:
    """A UI string in ``lang`` from a ``{key: {lang: text}}`` table (the key if missing)."""
    entry = messages.get(key)
    if not entry:
        return key
    return entry.get(lang) or entry.get(DEFAULT) or next(iter(entry.values()))


def init_app(app: Flask) -> None:
    """Register the sticky language choice and the ``lang`` template variable."""
    if app.extensions.get("innograph.i18n"):
        return
    app.extensions["innograph.i18n"] = True
    app.after_request(_remember_choice)
    app.context_processor(lambda: {"lang": request_lang(), "languages": LANGUAGES})
