"""Calendar pages on a school's subdomain: feed subscription, the feeds themselves, the admins'
booking calendar and the instructors' week (thin views over ``feeds`` and ``pages``).

- ``/calendar/feeds/<token>.ics``   a secret iCal feed (no sign-in: calendar apps fetch it)
- ``/calendar/subscribe``           the signed-in person's feed URLs, copy, rotate
- ``/teaching/calendar.ics``        an instructor's old bookmark: sends them to their feeds
"""

from __future__ import annotations

from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    flash,
    g,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_login import current_user
from flask_wtf import FlaskForm

from app.calendars import feeds
from app.calendars.feeds import FeedNotFound
from app.tenancy import current_membership, current_org

bp = Blueprint("calendars", __name__)


class RotateForm(FlaskForm):
    """No fields: the CSRF token that guards "new address"."""


@bp.before_request
def only_on_a_school_site():
    if current_org() is None:
        abort(404)


def render(template: str, status: int = 200, **context):
    g.setdefault("user", current_user)  # FAB's navbar reads g.user
    appbuilder = current_app.appbuilder
    return render_template(
        template, appbuilder=appbuilder, base_template=appbuilder.base_template, **context
    ), status


def signed_in_member():
    member = current_membership()
    if member is None:
        abort(redirect(current_app.appbuilder.get_url_for_login_with(request.full_path)))
    return member


def site_url() -> str:
    return request.host_url.rstrip("/")


# --- the feed itself ----------------------------------------------------------------------------


@bp.get("/calendar/feeds/<token>.ics")
def feed(token: str):
    try:
        subscription = feeds.feed_by_token(token)
    except FeedNotFound:
        abort(404)
    mark = feeds.fingerprint(subscription)
    headers = {
        "ETag": f'"{mark.etag}"',
        "Last-Modified": _http_date(mark.last_modified),
        "Cache-Control": f"private, max-age={int(feeds.REFRESH.total_seconds())}",
    }
    if _not_modified(mark):
        return Response(status=304, headers=headers)
    body = feeds.render_feed(subscription, site_url())
    response = Response(body, mimetype="text/calendar", headers=headers)
    response.headers["Content-Disposition"] = 'inline; filename="calendar.ics"'
    return response


def _not_modified(mark: feeds.Fingerprint) -> bool:
    # RFC 9110 13.2.2: If-None-Match wins; If-Modified-Since only counts without it.
    if request.if_none_match:
        return request.if_none_match.contains_weak(mark.etag)
    since = request.if_modified_since
    return since is not None and mark.last_modified <= since


def _http_date(moment) -> str:
    from werkzeug.http import http_date

    return http_date(moment)


# --- subscribing ----------------------------------------------------------------------------------


@bp.get("/calendar/subscribe")
def subscribe():
    member = signed_in_member()
    rows = []
    for choice, subscription in feeds.ensure_feeds(member):
        https = url_for("calendars.feed", token=feeds.feed_token(subscription), _external=True)
        rows.append(
            {
                "choice": choice,
                "feed": subscription,
                "url": https,
                "webcal": "webcal://" + https.split("://", 1)[1],
            }
        )
    return render(
        "calendars/subscribe.html",
        rows=rows,
        form=RotateForm(),
        school=current_org(),
        member=member,
    )


@bp.post("/calendar/subscribe/<int:feed_id>/rotate")
def rotate(feed_id: int):
    member = signed_in_member()
    if not RotateForm().validate():
        abort(400, description="The form had expired; please try again.")
    try:
        feeds.rotate_feed(member, feed_id)
    except FeedNotFound:
        abort(404, description="There is no such calendar feed.")
    flash("New address made. The old one no longer works: subscribe again with this one.", "info")
    return redirect(url_for("calendars.subscribe"))


@bp.get("/teaching/calendar.ics")
def teaching_calendar():
    """Where instructors expected their feed: their subscription page (a secret URL, which a
    guessable address could never be)."""
    signed_in_member()
    return redirect(url_for("calendars.subscribe"))
