"""Form errors that quote what a person typed, shown safely by Flask-AppBuilder's templates.

FAB renders each field error through ``_(error)``, and Jinja's new-style gettext always
applies ``%`` formatting: an error quoting a typed ``%`` ("'%' is not a valid choice")
became a 500. A message without variables is now taken literally.
"""

from __future__ import annotations

from flask import Flask
from jinja2 import pass_context


def init_app(app: Flask) -> None:
    """After Flask-AppBuilder (its Babel installs the gettext callables)."""
    formatting_gettext = app.jinja_env.globals.get("gettext")
    if formatting_gettext is None:
        return

    @pass_context
    def gettext(context, string, **variables):
        if not variables:
            string = string.replace("%", "%%")
        return formatting_gettext(context, string, **variables)

    app.jinja_env.globals["gettext"] = gettext
