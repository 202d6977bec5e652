"""Public intake: the case page and the claim form. Access: anyone, but a draft
only to the holder of its token (cookie), and nothing of anyone else's."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from flask import Blueprint, Flask, Response, g
from flask_babel import format_currency, format_date

from ..security import set_private_cookie

bp = Blueprint("intake", __name__)


def init_app(app: Flask) -> None:
    from . import routes  # noqa: F401  (registers the views on bp)

    app.register_blueprint(bp)

    @app.after_request
    def set_draft_cookie(response: Response) -> Response:
        token = g.get("draft_token")
        if token:
            set_private_cookie(
                response,
                app.config["DRAFT_COOKIE_NAME"],
                token,
                max_age=app.config["DRAFT_COOKIE_DAYS"] * 86400,
            )
        return response

    @app.template_filter("euros")
    def euros_filter(amount: Decimal) -> str:
        return format_currency(amount, "EUR")

    @app.context_processor
    def today() -> dict[str, str]:
        return {"now_date": format_date(date.today(), "long")}
