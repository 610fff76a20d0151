"""Calendars: bookings rendered to iCal (``ical``), the subscription feeds, the admins' and
instructors' calendar pages, and busy times read from instructors' own calendars."""
