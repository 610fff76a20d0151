"""Flask-AppBuilder's database sign-in, asking for an e-mail address and offering a reset.

Same class name as FAB's, so its endpoint (``AuthDBView.login``) and permissions stay as they
are; only the page changes. FAB looks the account up by username, then by e-mail.
"""

from __future__ import annotations

from flask_appbuilder.security.views import AuthDBView as FabAuthDBView


class AuthDBView(FabAuthDBView):
    login_template = "security/login.html"
    invalid_login_message = "That e-mail address and password do not match an account here."
