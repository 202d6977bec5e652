"""The staff console shell: layout and home page. Access as in claims.accounts.access."""

from __future__ import annotations

from flask import Blueprint, render_template
from flask_login import current_user

from ..accounts.access import SIGNED_IN, access, guard
from ..accounts.permissions import PERMISSIONS, Permission

bp = Blueprint("console", __name__, url_prefix="/console")
bp.before_request(guard)


@bp.get("/")
@access(SIGNED_IN)
def index() -> str:
    allowed = PERMISSIONS[current_user.role]
    # In the order of the permission table, as the admin pages show it.
    return render_template("console/index.html", permissions=[p for p in Permission if p in allowed])
