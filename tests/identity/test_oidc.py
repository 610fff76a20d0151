"""Signing in with Clerk: the whole redirect flow against a real OIDC provider on loopback."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

import pytest
import requests
import sqlalchemy as sa
from flask_appbuilder.const import AUTH_DB, AUTH_OAUTH

from app import create_app
from app.models import User
from config import TestConfig
from tests.identity.clerk import SECRET, ClerkPerson, ClerkSchool, expect, unique
from tests.identity.oidc_provider import ClerkLikeProvider

CLIENT_ID, CLIENT_SECRET = "coursecove-test", "coursecove-test-secret"


@pytest.fixture(scope="module")
def provider():
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("AUTHLIB_INSECURE_TRANSPORT", "1")  # plain http on loopback
        started = ClerkLikeProvider(CLIENT_ID, CLIENT_SECRET, redirect_uris=[]).start()
        yield started
        started.stop()


@pytest.fixture(scope="module")
def clerk_app(provider, database_url, redis_url, app):
    return create_app(
        TestConfig,
        {
            "DATABASE_URL": database_url,
            "REDIS_URL": redis_url,
            "CELERY_BROKER_URL": redis_url,
            "CLERK_WEBHOOK_SECRET": SECRET,
            "CLERK_ISSUER": provider.issuer,
            "CLERK_OAUTH_CLIENT_ID": CLIENT_ID,
            "CLERK_OAUTH_CLIENT_SECRET": CLIENT_SECRET,
        },
    )


class Browser:
    """The test client on one host of the Clerk-configured app, following the provider's
    redirects with real HTTP."""

    def __init__(self, app, provider: ClerkLikeProvider, subdomain: str | None):
        domain = app.config["APP_DOMAIN"]
        self.base_url = f"http://{subdomain}.{domain}" if subdomain else f"http://{domain}"
        self.client = app.test_client()
        self.provider = provider
        provider.client.redirect_uris.append(f"{self.base_url}/oauth-authorized/clerk")

    def get(self, path: str):
        return self.client.get(path, base_url=self.base_url)

    def sign_in_at_clerk(self, clerk_user_id: str):
        """Start at CourseCove, sign in at the provider, come back with the code."""
        start = self.get("/login/clerk")
        assert start.status_code == 302, f"expected a redirect to Clerk, got {start.status_code}"
        authorize_url = start.headers["Location"]
        assert authorize_url.startswith(f"{self.provider.issuer}/oauth/authorize?"), authorize_url
        consent = requests.post(
            authorize_url, data={"subject": clerk_user_id}, allow_redirects=False, timeout=10
        )
        assert consent.status_code == 302, (
            f"provider answered {consent.status_code}: {consent.text}"
        )
        back = urlsplit(consent.headers["Location"])
        assert f"{back.scheme}://{back.netloc}" == self.base_url, f"came back to {back.netloc}"
        return self.get(f"{back.path}?{back.query}")


def login_count(owner_db, email: str) -> int:
    owner_db.expire_all()
    return owner_db.scalar(sa.select(User.login_count).where(User.email == email)) or 0


def test_clerk_settings_switch_sign_in_to_oauth_and_without_them_it_stays_database(app, clerk_app):
    auth_types = []
    for each in (app, clerk_app):
        with each.app_context():
            auth_types.append(each.appbuilder.sm.auth_type)
    assert auth_types == [AUTH_DB, AUTH_OAUTH], (
        f"expected database sign-in without Clerk settings, OAuth with them; got {auth_types}"
    )
    page = clerk_app.test_client().get("/login/", base_url="http://coursecove.test")
    assert b"btn-signin-clerk" in page.data and b'name="password"' not in page.data, (
        "expected the login page to offer Clerk and no password field"
    )


def test_member_signs_in_through_clerk_and_is_matched_by_clerk_user_id(
    clerk_app, provider, deliver, owner_db
):
    school, person = ClerkSchool("Oidc Academy"), ClerkPerson("Olivia", "Messiaen")
    for event in (person.event(), school.event(), school.membership(person, role="org:admin")):
        assert expect(deliver(event))["status"] == "completed"
    # Clerk reports another (even unverified) address: the Clerk user id is what matches.
    provider.people[person.id] = {"email": "olivia@elsewhere.example", "email_verified": False}
    browser = Browser(clerk_app, provider, school.slug)

    landed = browser.sign_in_at_clerk(person.id)

    assert landed.status_code == 302, f"expected a redirect home, got {landed.status_code}"
    assert login_count(owner_db, person.email) == 1, "expected the synced user to be signed in"
    home = browser.get("/")
    assert b"Hello Olivia" in home.data and b"an administrator" in home.data, (
        f"expected the school home for a signed-in admin, got {home.data[:400]!r}"
    )


def test_verified_email_matches_an_account_without_a_clerk_link(clerk_app, provider, owner_db):
    email = f"{unique('local')}@example.org"
    owner_db.add(
        User(username=email, email=email, first_name="Local", last_name="Person", active=True)
    )
    owner_db.commit()
    clerk_id = unique("user")
    provider.people[clerk_id] = {"email": email, "email_verified": True}
    browser = Browser(clerk_app, provider, None)

    browser.sign_in_at_clerk(clerk_id)

    assert login_count(owner_db, email) == 1, "expected the account with that e-mail signed in"
    assert f"Signed in as {email}".encode() in browser.get("/").data


@pytest.mark.parametrize("known_email", [True, False], ids=["unverified_email", "unknown_person"])
def test_nobody_is_signed_in_without_a_link_or_a_verified_email(
    clerk_app, provider, owner_db, known_email
):
    email = f"{unique('local')}@example.org"
    if known_email:
        owner_db.add(
            User(username=email, email=email, first_name="Not", last_name="Verified", active=True)
        )
        owner_db.commit()
    clerk_id = unique("user")
    provider.people[clerk_id] = {"email": email, "email_verified": False}
    browser = Browser(clerk_app, provider, None)

    landed = browser.sign_in_at_clerk(clerk_id)

    assert landed.headers["Location"].endswith("/login/"), (
        f"expected to be sent back to sign-in, got {landed.headers.get('Location')}"
    )
    assert login_count(owner_db, email) == 0
    assert b"Signed in as" not in browser.get("/").data
    assert (
        owner_db.scalar(
            sa.select(sa.func.count()).select_from(User).where(User.username == clerk_id)
        )
        == 0
    ), "nobody is created at sign-in"


def test_user_deleted_in_clerk_cannot_sign_in(clerk_app, provider, deliver, owner_db):
    person = ClerkPerson("Former", "Member")
    expect(deliver(person.event()))
    expect(deliver(person.event("deleted")))
    provider.people[person.id] = {"email": person.email, "email_verified": True}
    browser = Browser(clerk_app, provider, None)

    landed = browser.sign_in_at_clerk(person.id)

    assert landed.headers["Location"].endswith("/login/"), "expected the sign-in refused"
    assert login_count(owner_db, person.email) == 0


def test_signing_out_of_a_clerk_sign_in_takes_a_post_with_the_token(
    clerk_app, provider, owner_db, monkeypatch
):
    email = f"{unique('leaving')}@example.org"
    owner_db.add(User(username=email, email=email, first_name="Lea", last_name="Ving", active=True))
    owner_db.commit()
    clerk_id = unique("user")
    provider.people[clerk_id] = {"email": email, "email_verified": True}
    browser = Browser(clerk_app, provider, None)
    browser.sign_in_at_clerk(clerk_id)
    monkeypatch.setitem(clerk_app.config, "WTF_CSRF_ENABLED", True)
    signed_in = f"Signed in as {email}".encode()

    page = browser.get("/logout/")
    assert page.status_code == 200 and signed_in in browser.get("/").data, (
        f"expected a GET of /logout/ to leave the person signed in, got {page.status_code}"
    )
    refused = browser.client.post("/logout/", base_url=browser.base_url)
    assert refused.status_code == 400 and signed_in in browser.get("/").data, (
        f"expected a tokenless POST refused (400), got {refused.status_code}"
    )
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page.get_data(as_text=True))
    done = browser.client.post(
        "/logout/", base_url=browser.base_url, data={"csrf_token": token.group(1)}
    )
    assert done.status_code == 302, f"expected sign-out to redirect, got {done.status_code}"
    assert signed_in not in browser.get("/").data, "still signed in after signing out"
