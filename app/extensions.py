"""Extension singletons, created once here and bound to the app in ``create_app``."""

from flask_appbuilder import AppBuilder, Model
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy

from app.tenancy.session import TenantRoutingSession

# model_class=Model makes db.metadata FAB's metadata, so Alembic sees every table.
db = SQLAlchemy(model_class=Model, session_options={"class_": TenantRoutingSession})
migrate = Migrate()
appbuilder = AppBuilder(update_perms=True)
limiter = Limiter(key_func=get_remote_address)
