"""Roles on a request come from the signed-in person's membership in the current school.

Flask-AppBuilder roles are global, but a person can be an instructor at one school and a
student at another. On a school's subdomain the only role that applies is the one their
membership there grants; on the platform domain their own FAB roles apply (PlatformAdmin).
"""

from __future__ import annotations

import sqlalchemy as sa
from flask import g, has_request_context, request
from flask_appbuilder.security.api import SecurityApi
from flask_appbuilder.security.manager import BaseSecurityManager
from flask_appbuilder.security.sqla.manager import SecurityManager
from flask_appbuilder.security.sqla.models import assoc_permissionview_role

from app.accounts.signin import AuthDBView, AuthOAuthView
from app.tenancy.context import privileged


class NoJsonSignIn(SecurityApi):
    """FAB's JSON sign-in (``/api/v1/security/login`` and ``/refresh``), switched off: nothing
    uses it, and it would take passwords on every host without a CSRF token."""

    include_route_methods: set[str] = set()


class SchoolSecurityManager(SecurityManager):
    security_api = NoJsonSignIn
    authdbview = AuthDBView
    authoauthview = AuthOAuthView  # Clerk sign-in (app/identity/oidc.py)

    def get_user_roles(self, user) -> list:
        if not user.is_authenticated:
            return [self.get_public_role()]
        if has_request_context() and g.get("organization") is not None:
            # FAB asks once per menu item and per permission check; look the role up once.
            return self._once_per_request(
                "school roles", lambda: self._membership_roles(g.get("membership"))
            )
        return super().get_user_roles(user)

    def exist_permission_on_roles(self, view_name, permission_name, role_ids) -> bool:
        """FAB asks the database once per check, so once per menu item of every page (18 queries
        on the platform's list of schools). One query per request loads these roles' permissions."""
        if not has_request_context():
            return super().exist_permission_on_roles(view_name, permission_name, role_ids)
        roles = tuple(sorted(role_ids))
        allowed = self._once_per_request(roles, lambda: self._permission_names(roles))
        return (permission_name, view_name) in allowed

    def is_item_public(self, permission_name, view_name) -> bool:
        """A visitor who is not signed in: the Public role's permissions, read the same way
        (FAB read the role and its permissions again for every menu item)."""
        if not has_request_context():
            return super().is_item_public(permission_name, view_name)
        public = self._once_per_request("public role", self.get_public_role)
        return public is not None and self.exist_permission_on_roles(
            view_name, permission_name, [public.id]
        )

    @staticmethod
    def _once_per_request(key, load):
        # In the WSGI environ, not ``g``: a test's app context can outlive several requests.
        known = request.environ.setdefault("coursecove.security", {})
        if key not in known:
            known[key] = load()
        return known[key]

    def _permission_names(self, role_ids) -> set[tuple[str, str]]:
        permission_view = self.permissionview_model
        rows = self.session.execute(
            sa.select(self.permission_model.name, self.viewmenu_model.name)
            .select_from(permission_view)
            .join(self.permission_model)
            .join(self.viewmenu_model)
            .join(
                assoc_permissionview_role,
                assoc_permissionview_role.c.permission_view_id == permission_view.id,
            )
            .where(assoc_permissionview_role.c.role_id.in_(role_ids))
        )
        return {(permission, view) for permission, view in rows}

    # --- sign-in: lockout, and sessions that end (app/security) ----------------------------

    def load_user(self, pk):
        """Flask-Login's loader: also refuses a cookie from an ended session."""
        from app.security.sessions import is_current

        user = super().load_user(pk)
        if user is not None and not is_current(user.id):
            return None
        return user

    def auth_user_db(self, username, password):
        from app.security import throttle

        throttle.refuse_if_locked(username)
        # The one place sign-in reads a password hash: the application role cannot.
        with privileged():
            user = super().auth_user_db(username, password)
        if user is None:
            throttle.record_failure(username)
        else:
            throttle.record_success(username)
        return user

    def reset_password(self, userid, password) -> None:
        """A new password ends every session of that person, except the one changing it."""
        from flask import session
        from flask_login import current_user

        from app.security.sessions import SESSION_KEY, end_all_sessions

        with privileged():  # the application role cannot write password hashes
            super().reset_password(userid, password)
        version = end_all_sessions(userid)
        self.session.commit()
        if current_user.is_authenticated and current_user.id == userid:
            session[SESSION_KEY] = version

    def _membership_roles(self, membership) -> list:
        if membership is None:
            return []
        role = self.find_role(membership.role.fab_role)
        return [role] if role else []

    def ensure_roles(self) -> None:
        """Create FAB's roles (our FAB_ROLES, PlatformAdmin, Public) without touching the schema.

        ``FAB_CREATE_DB`` is off because migrations own the schema, so this is FAB's own
        role set-up run explicitly after ``flask db upgrade``.
        """
        BaseSecurityManager.create_db(self)
        self.session.commit()
