"""Database models. Tenant-owned tables carry ``organization_id`` (see ``TenantOwned``)."""

from app.models.base import TenantOwned, tenant_fk
from app.models.catalog import (
    AppointmentType,
    InstructorQualification,
    Location,
    LocationMode,
    appointment_type_locations,
)
from app.models.organization import Membership, MembershipRole, Organization, User

__all__ = [
    "AppointmentType",
    "InstructorQualification",
    "Location",
    "LocationMode",
    "Membership",
    "MembershipRole",
    "Organization",
    "TenantOwned",
    "User",
    "appointment_type_locations",
    "tenant_fk",
]
