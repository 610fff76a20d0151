"""``GET /api/availability``: the booking page's free times as JSON, for scripts and integrations.

Parameters: ``type`` (required), ``from`` / ``to`` (local dates, ``to`` exclusive; default
today and a week later; at most 62 days), ``instructor``, ``mode`` (in_person / online /
at_home), ``location``, ``tz`` (adds each slot's start in that zone).
Same tenant rules as the pages: the Host names the school, another school's ids are 404.
"""

from __future__ import annotations

from flask import Blueprint, abort, jsonify, request

from app.booking import params, service
from app.booking.display import slot_json
from app.booking.service import BookingProblem
from app.booking.views import choice_from_args, location_names
from app.extensions import limiter
from app.tenancy import current_org

api = Blueprint("availability_api", __name__, url_prefix="/api")


@api.before_request
def only_on_a_school_site():
    if current_org() is None:
        abort(404, description="Availability is served on a school's own address.")


@api.errorhandler(BookingProblem)
def problem_as_json(problem: BookingProblem):
    return jsonify(error=type(problem).__name__, message=problem.message), problem.status_code


@api.get("/availability")
@limiter.limit("300/minute")
def availability():
    school = current_org()
    appointment_type = service.bookable_type(
        params.required_int(request.args.get("type"), "appointment type")
    )
    chosen = choice_from_args(appointment_type)
    first, stop = params.date_range(
        params.optional_date(request.args.get("from"), "“from” date"),
        params.optional_date(request.args.get("to"), "“to” date"),
        school.time_zone,
    )
    slots = service.free_slots(
        appointment_type,
        first,
        stop,
        instructor_id=chosen["instructor"],
        location_mode=chosen["mode"],
        location_id=chosen["location"],
    )
    zone = params.time_zone(request.args.get("tz"))
    if request.args.get("tz") and zone is None:
        raise params.BadInput(f"“{request.args['tz']}” is not a time zone like Europe/London.")
    names = location_names()
    return jsonify(
        school=school.subdomain,
        time_zone=school.time_zone,
        appointment_type={
            "id": appointment_type.id,
            "name": appointment_type.name,
            "duration_minutes": appointment_type.duration_minutes,
            "capacity": appointment_type.capacity,
        },
        **{"from": first.isoformat(), "to": stop.isoformat()},
        slots=[
            slot_json(s, school.time_zone, zone, names, chosen["instructor_names"]) for s in slots
        ],
    )
