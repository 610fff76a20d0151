"""Flask-AppBuilder's sign-in views, asking for an e-mail address, offering a reset, and
signing out only by a POST that carries a CSRF token.

Same class names as FAB's, so their endpoints (``AuthDBView.login``, ``AuthOAuthView.logout``)
and permissions stay as they are; only the pages and the sign-out change. FAB looks the
account up by username, then by e-mail.
"""

from __future__ import annotations

from flask import request
from flask_appbuilder import expose
from flask_appbuilder.security.views import AuthDBView as FabAuthDBView
from flask_appbuilder.security.views import AuthOAuthView as FabAuthOAuthView
from werkzeug.wrappers import Response

from app.accounts.forms import ButtonForm


class SignOutByPost:
    """FAB signs out on ``GET /logout/``: a link or an ``<img>`` on any other site could sign
    a person out. Here a GET (a bookmark, an old link) shows a "Sign out" button, and only
    its POST, with the page's CSRF token, signs out (FAB's own sign-out, which ends every
    earlier session through ``app.security.sessions``)."""

    sign_out_template = "security/sign_out.html"

    @expose("/logout/", methods=["GET", "POST"])
    def logout(self) -> Response | str:
        form = ButtonForm()
        # CSRFProtect refuses a tokenless POST before this; the form checks again, so that
        # sign-out stays safe even if this route were ever exempted.
        if form.validate_on_submit():
            return super().logout()
        status = 400 if request.method == "POST" else 200
        return self.render_template(self.sign_out_template, title="Sign out", form=form), status


class AuthDBView(SignOutByPost, FabAuthDBView):
    login_template = "security/login.html"
    invalid_login_message = "That e-mail address and password do not match an account here."


class AuthOAuthView(SignOutByPost, FabAuthOAuthView):
    """Clerk sign-in (``app/identity/oidc.py``): FAB's OAuth pages, our sign-out."""
