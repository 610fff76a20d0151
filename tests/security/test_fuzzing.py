"""Hypothesis against every form and JSON endpoint: whatever is typed, never a 500, and a
refused submission writes nothing (no partial write). Accepted ones are removed afterwards.

FAB add forms are found from the pages themselves (their field names), so a field added to
a panel is fuzzed without a change here; edit forms are left out (an accepted edit would
change the demo data the rest of the suite relies on).
"""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app import clock
from app.models import AppointmentType
from tests.security.conftest import changed_tables, write_marks

ADMIN = "grace@musicschool.demo"
STUDENT = "ada@musicschool.demo"
INSTRUCTOR = "clara@musicschool.demo"

TRICKY = [
    "",
    " ",
    "0",
    "-1",
    "99999999999",
    "1e309",
    "NaN",
    "9999-12-31",
    "0001-01-01",
    "2026-02-30",
    "25:61",
    "23:59",
    "\x00",
    "a\x00b",
    "<script>alert(1)</script>",
    "' OR 1=1 --",
    "１２",
    "é" * 300,
    "on",
    "any",
    "in_person",
    "weekly",
]
VALUES = st.one_of(
    st.sampled_from(TRICKY),
    st.text(max_size=80),
    st.integers(min_value=-(2**64), max_value=2**64).map(str),
    st.dates().map(str),
    st.times().map(lambda t: t.strftime("%H:%M")),
)
FUZZ = settings(
    max_examples=8,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    database=None,
)
FAB_ADD_FORMS = [
    "locationview",
    "appointmenttypeview",
    "instructorqualificationview",
    "workinghoursview",
    "hoursoverrideview",
    "timeoffview",
    "schoolclosureview",
    "studentview",
    "instructorview",
]


def _field_names(page: str) -> list[str]:
    names = re.findall(r'<(?:input|select|textarea)[^>]*\bname="([^"]+)"', page)
    return sorted({name for name in names if name != "csrf_token"})


def _check(owner_engine, response, before: dict, what: str) -> None:
    assert response.status_code < 500, f"{what}: {response.status_code}"
    accepted = response.status_code in (200, 302) and b"alert-danger" not in response.data
    if response.status_code >= 400 or not accepted:
        changed = changed_tables(before, write_marks(owner_engine))
        assert not changed, f"{what} was refused ({response.status_code}) but wrote {changed}"


@pytest.mark.parametrize("view", FAB_ADD_FORMS)
def test_admin_add_forms(visit, owner_engine, new_rows_removed, view):
    admin = visit("musicschool", ADMIN)
    fields = _field_names(admin.get(f"/{view}/add").get_data(as_text=True))
    assert fields, f"no fields found on /{view}/add"

    @FUZZ
    @given(st.fixed_dictionaries({name: VALUES for name in fields}))
    def submit(data):
        before = write_marks(owner_engine)
        response = admin.post(f"/{view}/add", data=data)
        # FAB re-renders a refused form with 200; a saved row redirects.
        if response.status_code == 200:
            assert not changed_tables(before, write_marks(owner_engine)), data
        _check(owner_engine, response, before, f"/{view}/add {data!r}")

    submit()


@pytest.fixture
def a_free_start(visit, owner_db, org_ids) -> tuple[int, str]:
    type_id = owner_db.scalar(
        sa.select(AppointmentType.id).where(
            AppointmentType.organization_id == org_ids["musicschool"],
            AppointmentType.name == "Piano lesson (30 min)",
        )
    )
    for weeks in range(8):  # the first week with a free time (closures, holidays...)
        first = (clock.now() + timedelta(days=3 + 7 * weeks)).date().isoformat()
        slots = visit("musicschool").get(f"/api/availability?type={type_id}&from={first}").json
        if slots["slots"]:
            return type_id, slots["slots"][0]["start"]
    pytest.fail("no free time in eight weeks")


def test_booking_confirm_form(visit, owner_engine, new_rows_removed, a_free_start):
    student = visit("musicschool", STUDENT)
    type_id, start = a_free_start
    fields = ["notes", "address", "repeat", "weeks", "until", "student"]

    @FUZZ
    @given(st.fixed_dictionaries({name: VALUES for name in fields}), VALUES)
    def submit(data, mode):
        before = write_marks(owner_engine)
        response = student.post(
            f"/book/{type_id}/confirm", query_string={"start": start, "mode": mode}, data=data
        )
        _check(owner_engine, response, before, f"confirm {mode!r} {data!r}")

    submit()


@pytest.mark.parametrize(
    ("path", "fields"),
    [
        ("/teaching/schedule/hours", ["weekday", "start_time", "end_time", "location", "modes"]),
        ("/teaching/schedule/overrides", ["day", "start_time", "end_time", "location", "modes"]),
        ("/teaching/schedule/time-off", ["first_day", "last_day", "reason"]),
    ],
)
def test_teaching_portal_forms(visit, owner_engine, new_rows_removed, path, fields):
    instructor = visit("musicschool", INSTRUCTOR)

    @FUZZ
    @given(st.fixed_dictionaries({name: VALUES for name in fields}))
    def submit(data):
        before = write_marks(owner_engine)
        _check(owner_engine, instructor.post(path, data=data), before, f"{path} {data!r}")

    submit()


def test_sign_up_and_sign_in_forms(visit, owner_engine, new_rows_removed):
    @FUZZ
    @given(
        st.fixed_dictionaries(
            {n: VALUES for n in ("first_name", "last_name", "email", "password", "confirm")}
        ),
        VALUES,
    )
    def submit(data, next_target):
        before = write_marks(owner_engine)
        response = visit("musicschool").post(
            "/signup", query_string={"next": next_target}, data=data
        )
        _check(owner_engine, response, before, f"signup {data!r}")
        response = visit("musicschool").post(
            "/login/", data={"username": data["email"], "password": data["password"]}
        )
        assert response.status_code < 500

    submit()


def test_availability_api(visit, unchanged):
    visitor = visit("musicschool")
    names = ["type", "from", "to", "instructor", "mode", "location", "tz"]

    @FUZZ
    @given(st.fixed_dictionaries({name: VALUES for name in names}))
    def ask(query):
        response = visitor.get("/api/availability", query_string=query)
        assert response.status_code < 500, (query, response.status_code)
        assert response.is_json, query

    ask()
    unchanged()


def test_webhook_endpoint(visit, unchanged):
    platform = visit(None)
    payloads = st.recursive(
        st.none() | st.booleans() | st.integers() | st.text(max_size=20),
        lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner),
        max_leaves=8,
    )

    @FUZZ
    @given(
        payloads,
        st.dictionaries(
            st.sampled_from(["svix-id", "svix-timestamp", "svix-signature"]),
            # What an HTTP client can send in a header at all: printable ASCII.
            st.text(st.characters(min_codepoint=32, max_codepoint=126), max_size=80),
        ),
    )
    def deliver(payload, headers):
        response = platform.post("/api/webhooks/clerk", json=payload, headers=headers)
        assert response.status_code < 500 or response.status_code == 503, response.status_code

    deliver()
    unchanged()
