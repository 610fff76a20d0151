"""Extension singletons, created once here and bound to the app in ``create_app``.

Flask-AppBuilder is the exception: it keeps per-app state (views, security manager), so
``create_app`` builds one per app and it is reached as ``current_app.appbuilder``.
"""

from flask_appbuilder import Model
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from flask_wtf.csrf import CSRFProtect

from app.tenancy.session import TenantRoutingSession

# model_class=Model makes db.metadata FAB's metadata, so Alembic sees every table.
db = SQLAlchemy(
    model_class=Model,
    session_options={"class_": TenantRoutingSession},
)
migrate = Migrate()
limiter = Limiter(key_func=get_remote_address)
# Every POST/PUT/PATCH/DELETE of every blueprint needs a token (the Clerk webhook is exempt:
# Svix signs it). Installed, it also makes Flask-AppBuilder refuse deletes and actions by GET.
csrf = CSRFProtect()
