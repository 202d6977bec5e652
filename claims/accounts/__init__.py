"""Staff accounts: sign-in with mandatory two-factor, sessions, roles, administration."""

from __future__ import annotations

from flask import Blueprint, Flask

bp = Blueprint("accounts", __name__, url_prefix="/console")


def init_app(app: Flask) -> None:
    from ..extensions import login_manager
    from . import routes  # noqa: F401  (registers the views on bp)
    from .models import SessionStage, User
    from .sessions import current_staff_session
    from .sessions import init_app as init_sessions

    app.register_blueprint(bp)
    init_sessions(app)

    login_manager.init_app(app)
    login_manager.login_view = "accounts.login"

    @login_manager.user_loader
    def no_cookie_session_users(_user_id: str) -> None:
        # Staff are only ever known through the server-side session table.
        return None

    @app.context_processor
    def staff_template_helpers() -> dict[str, object]:
        from .forms import ActionForm
        from .labels import PERMISSION_LABELS, ROLE_LABELS, STATE_LABELS

        return {
            # formdata=None: rendering the button must not parse the request body.
            "logout_form": ActionForm(formdata=None),
            "role_labels": ROLE_LABELS,
            "state_labels": STATE_LABELS,
            "permission_labels": PERMISSION_LABELS,
        }

    @login_manager.request_loader
    def staff_from_session(_request: object) -> User | None:
        staff_session = current_staff_session()
        if staff_session is not None and staff_session.stage == SessionStage.COMPLETE:
            return staff_session.user
        return None
