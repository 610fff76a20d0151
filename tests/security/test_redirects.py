"""Open redirect: every ``next`` stays on the host the visitor is on."""

from __future__ import annotations

import pytest

from app.security.redirects import is_local_path, safe_next

OFF_SITE = [
    "//evil.com",
    "/\t/evil.com",
    "/\n/x",
    "/\r\n/x",
    "\\\\evil.com",
    "/\\evil.com",
    "https:evil.com",
    "https://evil.com/book/",
    "javascript:alert(1)",
    "evil.com",
    "/ /evil.com".replace(" ", "\x0b"),
    "/\x00/evil.com",
]


@pytest.mark.parametrize("target", OFF_SITE, ids=repr)
def test_off_site_targets_are_refused(target):
    assert not is_local_path(target)
    assert safe_next(target, "/book/") == "/book/"


@pytest.mark.parametrize("target", ["/book/", "/book/3?week=2026-12-07", "/bookings/#top"])
def test_paths_on_this_site_are_kept(target):
    assert safe_next(target, "/book/") == target


@pytest.mark.parametrize("target", ["/%09/evil.com", "/%0A/x", "//x", "%5C%5Cx", "https:x"])
@pytest.mark.parametrize("path", ["/signup", "/login/"])
def test_a_signed_in_member_is_never_sent_off_site(visit, path, target):
    student = visit("musicschool", "ada@musicschool.demo")
    response = student.get(f"{path}?next={target}")
    location = response.headers.get("Location", "")
    assert response.status_code == 400, f"{path}?next={target}: {response.status_code} {location}"


def test_a_local_next_is_followed_after_sign_up_checks(visit):
    student = visit("musicschool", "ada@musicschool.demo")
    response = student.get("/signup?next=/bookings/")
    assert response.status_code == 302
    assert response.headers["Location"] == "/bookings/"


@pytest.mark.parametrize("target", ["/%09/evil.com", "//evil.com", "https:evil.com"])
def test_signing_in_with_an_off_site_next_lands_on_this_site(visit, target):
    response = visit("musicschool").post(
        f"/login/?next={target}",
        data={"username": "ada@musicschool.demo", "password": "coursecove-demo"},
    )
    location = response.headers.get("Location", "")
    assert response.status_code == 302 and is_local_path(location), location
