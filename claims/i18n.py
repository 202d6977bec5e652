"""Interface language: French first (the court's language), English on request.

Message ids are the French texts, so French needs no catalogue; the English
catalogue is ``claims/translations/en``, compiled by ``make`` (pybabel).
The choice comes from ``?lang=``, then the ``lang`` cookie, then the browser.
"""

from __future__ import annotations

from flask import Flask, Response, current_app, g, has_request_context, request
from flask_babel import Babel, get_locale

from .security import set_private_cookie


def select_locale() -> str:
    if not has_request_context():  # CLI, jobs: French, the court's language
        return current_app.config["BABEL_DEFAULT_LOCALE"]
    languages = current_app.config["LANGUAGES"]
    chosen = request.args.get("lang") or request.cookies.get("lang")
    if chosen in languages:
        return chosen
    return request.accept_languages.best_match(languages) or current_app.config["BABEL_DEFAULT_LOCALE"]


def current_language() -> str:
    """The interface language of this request ("fr" or "en")."""
    return str(get_locale() or "fr")


def init_app(app: Flask, babel: Babel) -> None:
    babel.init_app(app, locale_selector=select_locale)

    @app.before_request
    def remember_requested_language() -> None:
        if request.args.get("lang") in app.config["LANGUAGES"]:
            g.set_lang_cookie = request.args["lang"]

    @app.after_request
    def set_language_cookie(response: Response) -> Response:
        if g.get("set_lang_cookie"):
            set_private_cookie(response, "lang", g.set_lang_cookie, max_age=365 * 86400)
        return response

    @app.context_processor
    def language() -> dict[str, object]:
        return {"lang": current_language()}
