"""Building realistic Clerk events (from tests/fixtures/clerk) about fresh ids, and signing
deliveries with the real svix library."""

from __future__ import annotations

import json
import secrets
from datetime import UTC, datetime
from pathlib import Path

from svix.webhooks import Webhook

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "clerk"
WEBHOOK_PATH = "/api/webhooks/clerk"
SECRET = "whsec_" + "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"  # base64 of 24 bytes, like Clerk's


def unique(prefix: str) -> str:
    return f"{prefix}_{secrets.token_hex(10)}"


def fixture(name: str) -> dict:
    return json.loads((FIXTURES / f"{name}.json").read_text())


def _ms(at: datetime | None) -> int:
    return int((at or datetime.now(UTC)).timestamp() * 1000)


class ClerkPerson:
    """A Clerk user and the events Clerk would send about them."""

    def __init__(self, first: str = "Marie", last: str = "Curie", email: str | None = None):
        self.id = unique("user")
        self.first, self.last = first, last
        self.email = email or f"{self.id}@example.org"

    def event(
        self, kind: str = "created", *, updated_ms: int | None = None, verified: bool = True, **data
    ) -> dict:
        event = fixture(f"user.{kind}")
        event["data"]["id"] = self.id
        if kind != "deleted":
            address = event["data"]["email_addresses"][0]
            address["email_address"] = self.email
            address["verification"]["status"] = "verified" if verified else "unverified"
            event["data"].update(
                first_name=self.first,
                last_name=self.last,
                updated_at=updated_ms or _ms(None),
                **data,
            )
        event["timestamp"] = updated_ms or _ms(None)
        return event


class ClerkSchool:
    """A Clerk organization and its events."""

    def __init__(self, name: str = "Harmony Piano Academy", slug: str | None = None):
        self.id = unique("org")
        self.name = name
        self.slug = slug or f"clerk-{secrets.token_hex(5)}"

    def event(self, kind: str = "created", *, updated_ms: int | None = None, **data) -> dict:
        event = fixture(f"organization.{kind}")
        event["data"]["id"] = self.id
        if kind != "deleted":
            event["data"].update(
                name=self.name, slug=self.slug, updated_at=updated_ms or _ms(None), **data
            )
        event["timestamp"] = updated_ms or _ms(None)
        return event

    def membership(
        self,
        person: ClerkPerson,
        kind: str = "created",
        *,
        role: str = "org:member",
        membership_id: str | None = None,
        metadata: dict | None = None,
        updated_ms: int | None = None,
    ) -> dict:
        event = fixture(f"organizationMembership.{kind}")
        data = event["data"]
        data["id"] = membership_id or f"orgmem_{self.id[4:]}_{person.id[5:]}"
        data["organization"].update(id=self.id, name=self.name, slug=self.slug)
        data["public_user_data"].update(
            user_id=person.id,
            identifier=person.email,
            first_name=person.first,
            last_name=person.last,
        )
        data.update(role=role, public_metadata=metadata or {}, updated_at=updated_ms or _ms(None))
        event["timestamp"] = updated_ms or _ms(None)
        return event


def signed_headers(
    body: str, *, svix_id: str | None = None, secret: str = SECRET, at: datetime | None = None
) -> dict[str, str]:
    svix_id = svix_id or unique("msg")
    at = at or datetime.now(UTC)
    return {
        "svix-id": svix_id,
        "svix-timestamp": str(int(at.timestamp())),
        "svix-signature": Webhook(secret).sign(svix_id, at, body),
        "content-type": "application/json",
    }


def expect(response, status: int = 200) -> dict:
    body = response.get_json(silent=True)
    assert response.status_code == status, (
        f"expected HTTP {status}, got {response.status_code}: {body or response.data[:300]!r}"
    )
    return body
