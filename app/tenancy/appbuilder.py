"""Flask-AppBuilder, told which site it is serving: the school's name in the navbar and page
titles on its subdomain, and on each host only the menu items of the views served there."""

from __future__ import annotations

from flask import current_app, g, has_request_context
from flask_appbuilder import AppBuilder
from flask_appbuilder.menu import Menu, MenuItem


def _serving_platform() -> bool | None:
    """True on the platform host, False on a school's, None outside a request."""
    if not has_request_context() or "host_target" not in g:
        return None
    return g.host_target.is_platform


class SiteAppBuilder(AppBuilder):
    @property
    def app_name(self) -> str:
        school = g.get("organization") if has_request_context() else None
        return school.name if school is not None else current_app.config["APP_NAME"]


class SiteMenu(Menu):
    """FAB's menu without the links that answer 404 on this host.

    A view declares ``served_on = "school"`` or ``"platform"``; links without a view
    (``add_link``) point at school pages. FAB's own security views serve the platform."""

    def get_list(self):
        on_platform = _serving_platform()
        if on_platform is None:
            return self.menu
        return _visible(self.menu, on_platform)


def _visible(items: list[MenuItem], on_platform: bool) -> list[MenuItem]:
    kept = []
    for item in items:
        if item.childs:
            childs = _visible(item.childs, on_platform)
            if any(child.name != "-" for child in childs):
                kept.append(
                    MenuItem(item.name, item.href, item.icon, item.label, childs, item.baseview)
                )
        elif item.name == "-" or _served_here(item, on_platform):
            kept.append(item)
    return kept


def _served_here(item: MenuItem, on_platform: bool) -> bool:
    served_on = getattr(item.baseview, "served_on", None) if item.baseview else "school"
    if served_on is None:  # FAB's security views (users, roles): the platform's
        served_on = "platform"
    return served_on == ("platform" if on_platform else "school")
