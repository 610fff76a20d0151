"""Host headers → the platform, a school's subdomain, or nothing of ours."""

import pytest

from app.tenancy.hosts import parse_host, subdomain_problem

DOMAIN = "coursecove.com"


@pytest.mark.parametrize(
    ("host", "platform", "subdomain"),
    [
        ("coursecove.com", True, None),
        ("www.coursecove.com", True, None),
        ("musicschool.coursecove.com", False, "musicschool"),
        ("MusicSchool.CourseCove.com:443", False, "musicschool"),
        ("music-school-2.coursecove.com.", False, "music-school-2"),
    ],
)
def test_known_hosts_resolve(host, platform, subdomain):
    target = parse_host(host, DOMAIN)
    assert (target.is_platform, target.subdomain) == (platform, subdomain), host


@pytest.mark.parametrize(
    "host",
    [
        "",
        None,
        "evil.com",
        "coursecove.com.evil.com",
        "a.b.coursecove.com",
        "-bad.coursecove.com",
        "under_score.coursecove.com",
        "x" * 64 + ".coursecove.com",
        "api.coursecove.com",
        "musicschool.coursecove.com:notaport",
        "műzik.coursecove.com",
    ],
)
def test_malformed_or_foreign_hosts_are_not_ours(host):
    assert not parse_host(host, DOMAIN).is_ours, host


def test_ports_in_app_domain_are_ignored():
    assert parse_host("yogastudio.localhost:5000", "localhost:5000").subdomain == "yogastudio"


@pytest.mark.parametrize("subdomain", ["www", "api", "admin", "UPPER", "has space", "-x", "x-", ""])
def test_invalid_or_reserved_subdomains_are_refused_with_a_reason(subdomain):
    problem = subdomain_problem(subdomain)
    assert problem and len(problem) > 10, f"expected a reason for {subdomain!r}, got {problem!r}"


def test_a_plain_subdomain_is_accepted():
    assert subdomain_problem("riverside-music") is None


def test_a_school_page_reads_its_school_once(app, visit):
    # Binding the tenant ends the transaction that found the school; the school used to be
    # read a second time right after (expired by that commit).
    from tests.conftest import statements_run

    student = visit("musicschool", "ada@musicschool.demo")
    with statements_run(app) as statements:
        page = student.get("/book/")

    assert page.status_code == 200 and "Riverside Music School" in page.get_data(as_text=True)
    assert sum("FROM organizations" in s for s in statements) == 1, statements
