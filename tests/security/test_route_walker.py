"""Every route of ``app.url_map`` (a new route is walked automatically), as each kind of
visitor on the music school's site, by GET and by POST, with the yoga studio's ids in the
URL: never a 500, never a page of the yoga studio's data, no page for a non-member, and no
page for an anonymous visitor beyond the public ones."""

from __future__ import annotations

import re
from dataclasses import dataclass

import pytest
import sqlalchemy as sa

from app.models import (
    AppointmentType,
    BookingAttendee,
    Location,
    Membership,
    MembershipRole,
    WorkingHours,
)
from app.tenancy.requests import OPEN_TO_NON_MEMBERS

SCHOOL = "musicschool"
# Public: what an anonymous visitor may see (anything else sends them to sign in, or 4xx);
# a signed-in non-member may see what the tenancy layer opens to them (sign-in, links...).
PUBLIC_ENDPOINTS = OPEN_TO_NON_MEMBERS | {
    "HomeView.index",
    "AuthDBView.login",
    "AuthOAuthView.login",
    "booking.types",
    "booking.choose",
    "booking.times",
    "booking.signup",
    "availability_api.availability",
    "static",
    "appbuilder.static",
    "LocaleView.index",
    "UtilView.back",
}
# Walked last: its POST signs the visitor out (TestConfig needs no CSRF token), and writes
# the one thing a non-member may write, their own session version.
SIGN_OUT_ENDPOINTS = {"AuthDBView.logout", "AuthOAuthView.logout"}


@dataclass(frozen=True)
class Actor:
    name: str
    email: str | None
    member: bool = True


ACTORS = [
    Actor("anonymous", None, member=False),
    Actor("student", "ada@musicschool.demo"),
    Actor("instructor", "clara@musicschool.demo"),
    Actor("admin of another school", "florence@yogastudio.demo", member=False),
    Actor("platform admin", "platform@coursecove.demo", member=False),
]


@pytest.fixture(scope="module")
def yoga_markers(owner_engine, org_ids) -> list[str]:
    """The yoga studio's names (school, lesson types, places, people) that the music school
    does not also use: none of them may appear on the music school's site."""

    def names(org_id: int) -> set[str]:
        with owner_engine.connect() as connection:
            rows = connection.execute(
                sa.text(
                    "SELECT name FROM organizations WHERE id = :org "
                    "UNION SELECT name FROM appointment_types WHERE organization_id = :org "
                    "UNION SELECT name FROM locations WHERE organization_id = :org "
                    "UNION SELECT u.last_name FROM ab_user u JOIN memberships m "
                    "ON m.user_id = u.id WHERE m.organization_id = :org "
                    "UNION SELECT u.email FROM ab_user u JOIN memberships m "
                    "ON m.user_id = u.id WHERE m.organization_id = :org"
                ),
                {"org": org_id},
            )
            return {name for (name,) in rows if name and len(name) > 3}

    yoga, music = names(org_ids["yogastudio"]), names(org_ids["musicschool"])
    # The other school's admin sees their own name in the menu bar: not a leak.
    return sorted(yoga - music - {"Nightingale", "florence@yogastudio.demo"})


@pytest.fixture(scope="module")
def yoga_ids(app, owner_engine, org_ids) -> dict[str, int]:
    """One row of the yoga studio per kind of id a URL takes."""
    yoga = org_ids["yogastudio"]
    with owner_engine.connect() as connection:

        def first(model, *where) -> int:
            query = sa.select(model.id).where(model.organization_id == yoga, *where)
            return connection.scalar(query.order_by(model.id)) or 1

        return {
            "type_id": first(AppointmentType),
            "attendee_id": first(BookingAttendee),
            "row_id": first(WorkingHours),
            "location": first(Location),
            "membership": first(Membership, Membership.role == MembershipRole.STUDENT),
        }


def _url(rule, yoga_ids: dict[str, int]) -> str:
    values = {
        "name": "muldelete",
        "kind": "hours",
        "filename": "walker.css",
        "locale": "en",
        "group_by": "x",
        "pk": str(yoga_ids["membership"]),
        **{key: str(value) for key, value in yoga_ids.items()},
    }
    return re.sub(r"<(?:[^:<>]+:)?([^<>]+)>", lambda m: values.get(m.group(1), "1"), rule.rule)


def _routes(app, sign_out: bool) -> dict[str, tuple[str, set[str]]]:
    """Each URL rule once (FAB splits a form's GET and POST into two endpoints), with the
    methods it answers and its first endpoint: the sign-out routes, or all the others."""
    routes: dict[str, tuple[str, set[str]]] = {}
    for rule in app.url_map.iter_rules():
        if (rule.endpoint in SIGN_OUT_ENDPOINTS) != sign_out:
            continue
        endpoint, methods = routes.get(rule.rule, (rule.endpoint, set()))
        routes[rule.rule] = (endpoint, methods | (rule.methods & {"GET", "POST"}))
    return routes


def _walk(app, visitor, actor: Actor, yoga_ids, markers, sign_out: bool) -> list[str]:
    problems = []
    for endpoint, methods in sorted(_routes(app, sign_out).values()):
        path = _url(app.url_map._rules_by_endpoint[endpoint][0], yoga_ids)
        # Each actor tries what the route answers; the anonymous visitor tries the rest too.
        tried = {"GET", "POST"} if actor.email is None else methods
        for method in sorted(tried):
            where = f"{actor.name}: {method} {path} ({endpoint})"
            try:
                response = visitor.client.open(
                    path, method=method, base_url=visitor.base_url, data={"name": "Walker"}
                )
            except Exception as error:  # TESTING propagates what would be a 500
                problems.append(f"{where} raised {type(error).__name__}: {error}"[:300])
                continue
            status = response.status_code
            if status >= 500:
                problems.append(f"{where} -> {status}")
            elif method not in methods and status not in (403, 404, 405):
                problems.append(f"{where} -> {status}, expected 405")
            elif status == 200:
                problems.extend(_leaks(actor, endpoint, where, response, markers))
    return problems


def _leaks(actor: Actor, endpoint: str, where: str, response, markers) -> list[str]:
    problems = []
    if not actor.member and actor.email and endpoint not in OPEN_TO_NON_MEMBERS:
        problems.append(f"{where} -> 200 for a non-member (expected 403)")
    if actor.email is None and endpoint not in PUBLIC_ENDPOINTS:
        problems.append(f"{where} -> 200 for an anonymous visitor")
    body = response.get_data(as_text=True)
    leaked = [marker for marker in markers if marker in body]
    if leaked:
        problems.append(f"{where} shows the yoga studio's {leaked}")
    return problems


@pytest.mark.parametrize("actor", ACTORS, ids=lambda a: a.name)
def test_every_route_as_every_visitor(
    app, visit, yoga_ids, yoga_markers, unchanged, school_unchanged, new_rows_removed, actor
):
    assert "Lotus Yoga Studio" in yoga_markers, yoga_markers
    visitor = visit(SCHOOL, actor.email)
    problems = _walk(app, visitor, actor, yoga_ids, yoga_markers, sign_out=False)
    assert not problems, f"{len(problems)} problem(s):\n" + "\n".join(problems[:40])
    school_unchanged("yogastudio")
    if not actor.member:
        unchanged()  # members may make their own things (a calendar feed, say); others nothing

    problems = _walk(app, visitor, actor, yoga_ids, yoga_markers, sign_out=True)
    assert not problems, f"{len(problems)} problem(s):\n" + "\n".join(problems)
    assert len(_routes(app, sign_out=True)) == 1, "expected the sign-out route walked"
    assert visitor.get("/login/").status_code == 200, "expected the POST to have signed out"
    school_unchanged("yogastudio")
