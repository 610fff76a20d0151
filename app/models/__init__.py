"""Database models. Tenant-owned tables carry ``organization_id`` (see ``TenantOwned``)."""

from app.models.accounts import Invitation, InvitationPurpose, PasswordReset
from app.models.base import TenantOwned, tenant_fk
from app.models.booking import (
    Booking,
    BookingAttendee,
    BookingChange,
    BookingSeries,
    BookingStatus,
    ChangeAction,
)
from app.models.calendars import BusyTime, CalendarFeed, ExternalCalendar, FeedKind
from app.models.catalog import (
    AppointmentType,
    InstructorQualification,
    Location,
    LocationMode,
    appointment_type_locations,
)
from app.models.identity import ClerkDeletion, ClerkUser, WebhookEvent, WebhookPath, WebhookStatus
from app.models.notification import (
    BookingReminder,
    Notification,
    NotificationKind,
    NotificationStatus,
    ReminderStatus,
)
from app.models.organization import Membership, MembershipRole, Organization, SchoolLogo, User
from app.models.scheduling import HoursOverride, SchoolClosure, TimeOff, WorkingHours
from app.models.sessions import SessionVersion

__all__ = [
    "AppointmentType",
    "Booking",
    "BookingAttendee",
    "BookingChange",
    "BookingReminder",
    "BookingSeries",
    "BookingStatus",
    "BusyTime",
    "CalendarFeed",
    "ChangeAction",
    "ClerkDeletion",
    "ClerkUser",
    "ExternalCalendar",
    "FeedKind",
    "HoursOverride",
    "Invitation",
    "InvitationPurpose",
    "InstructorQualification",
    "Location",
    "LocationMode",
    "Membership",
    "Notification",
    "NotificationKind",
    "NotificationStatus",
    "MembershipRole",
    "Organization",
    "PasswordReset",
    "ReminderStatus",
    "SchoolClosure",
    "SchoolLogo",
    "SessionVersion",
    "TenantOwned",
    "TimeOff",
    "User",
    "WebhookEvent",
    "WebhookPath",
    "WebhookStatus",
    "WorkingHours",
    "appointment_type_locations",
    "tenant_fk",
]
