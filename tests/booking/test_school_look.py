"""A school's own look and clock: 12/24-hour times, its colour and its logo on the navbar."""

from __future__ import annotations

import struct
import zlib
from io import BytesIO

import pytest
import sqlalchemy as sa

from app.branding import contrast_ratio, logo_type, text_colour_on
from app.models import Organization, SchoolLogo
from app.scheduling.time_format import format_time

GRACE = "grace@musicschool.demo"
FLORENCE = "florence@yogastudio.demo"


def png(width: int = 4, height: int = 2, padding: int = 0) -> bytes:
    """A real (tiny) PNG; ``padding`` bytes of an ancillary chunk make it as big as wanted."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    pixels = zlib.compress(b"".join(b"\x00" + b"\xff\x00\x00" * width for _ in range(height)))
    extra = chunk(b"tEXt", b"c\x00" + b"x" * padding) if padding else b""
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + extra
        + chunk(b"IDAT", pixels)
        + chunk(b"IEND", b"")
    )


def settings_form(**overrides) -> dict:
    form = {
        "name": "Riverside Music School",
        "time_zone": "America/New_York",
        "time_format": "12h",
        "brand_colour": "#222222",  # what the colour box shows before a colour is chosen
        "contact_email": "",
        "reminder_hours": "24, 1",
    }
    return form | overrides


@pytest.fixture
def admin(visit):
    return visit("musicschool", GRACE)


def upload(visitor, content: bytes, name: str = "logo.png"):
    return visitor.post(
        "/school/logo/",
        data={"logo": (BytesIO(content), name)},
        content_type="multipart/form-data",
    )


def test_new_york_writes_12_hour_times_and_london_24_hour(owner_db, org_ids):
    formats = dict(
        owner_db.execute(sa.select(Organization.subdomain, Organization.time_format)).all()
    )
    assert (formats["musicschool"], formats["yogastudio"]) == ("12h", "24h"), formats


def test_switching_the_school_to_24_hours_changes_what_every_page_shows(
    admin, visit, music, org_ids, restore_music, free_slots, owner_db
):
    slot = free_slots(music, "Piano lesson (30 min)", days_ahead=7, instructor="Clara")[0]
    week = music.local(slot.start).date().isoformat()
    times = f"/book/{music.types['Piano lesson (30 min)']}/times?week={week}"
    hours = f"/availability/week/{music.people['Clara']}"
    ada = visit("musicschool", "ada@musicschool.demo")
    twelve = format_time(music.local(slot.start), "12h")
    assert twelve in ada.get(times).data.decode(), "New York: 12-hour by default"
    assert 'value="2:00 PM"' in admin.get(hours).data.decode(), "Clara's 14:00, as 2:00 PM"

    saved = admin.post(
        f"/schoolsettingsview/edit/{org_ids['musicschool']}",
        data=settings_form(time_format="24h"),
    )
    music.time_format = "24h"

    assert saved.status_code == 302, saved.data.decode()[-1500:]
    owner_db.expire_all()
    school = owner_db.get(Organization, org_ids["musicschool"])
    assert (school.time_format, school.brand_colour) == ("24h", None), "colour left unchosen"
    assert "24-hour (14:30)" in admin.get(f"/schoolsettingsview/show/{org_ids['musicschool']}").text
    page = ada.get(times).data.decode()
    assert format_time(music.local(slot.start), "24h") in page and twelve not in page
    editor = admin.get(hours).data.decode()
    assert 'value="14:00"' in editor and 'placeholder="e.g. 14:00"' in editor
    assert "2:00 PM" not in editor


def test_settings_refuse_an_unknown_time_format_or_colour(admin, owner_db, org_ids):
    url = f"/schoolsettingsview/edit/{org_ids['musicschool']}"
    bad_format = admin.post(url, data=settings_form(time_format="25h"))
    bad_colour = admin.post(url, data=settings_form(brand_colour="red"))

    assert bad_format.status_code == 422 and "Choose 12-hour or 24-hour" in bad_format.text
    assert bad_colour.status_code == 422 and "Use a colour like" in bad_colour.text
    owner_db.expire_all()
    school = owner_db.get(Organization, org_ids["musicschool"])
    assert (school.time_format, school.brand_colour) == ("12h", None), "nothing half-saved"


def test_typed_times_are_read_either_way_and_refused_in_words(admin, music, owner_db):
    from tests.booking.test_admin import hours_form

    clara = music.people["Clara"]
    refused = admin.post("/workinghoursview/add", data=hours_form(clara, 6, "7 o'clock", "9:00"))
    assert refused.status_code == 422
    assert "Give a time like 2:00 PM." in refused.text and "7 o&#39;clock" in refused.text


def test_a_logo_and_colour_show_on_the_school_navbar_only(
    admin, visit, owner_db, org_ids, restore_music
):
    admin.post(
        f"/schoolsettingsview/edit/{org_ids['musicschool']}",
        data=settings_form(brand_colour="#1e3a8a"),
    )
    saved = upload(admin, png())
    assert saved.status_code == 302, saved.data.decode()[-1000:]
    logo = owner_db.scalar(sa.select(SchoolLogo))
    assert (logo.organization_id, logo.content_type) == (org_ids["musicschool"], "image/png")

    for page in (admin.get("/").text, visit("musicschool").get("/book/").text):
        assert f'src="/school/logo/{logo.id}"' in page, "the logo is on the navbar"
        assert "background: #1e3a8a" in page and "color: #ffffff" in page, "white on dark blue"

    image = visit("musicschool").get(f"/school/logo/{logo.id}")
    assert image.status_code == 200 and image.data == png()
    assert image.headers["Content-Type"] == "image/png"
    assert image.headers["X-Content-Type-Options"] == "nosniff"
    assert "max-age=31536000" in image.headers["Cache-Control"]
    again = visit("musicschool").get(
        f"/school/logo/{logo.id}", headers={"If-None-Match": image.headers["ETag"]}
    )
    assert again.status_code == 304

    other_school = visit("yogastudio").get(f"/school/logo/{logo.id}")
    assert other_school.status_code == 404, "another school's logo id gives nothing"
    assert "data-school-logo" not in visit("yogastudio", FLORENCE).get("/").text


def test_logos_that_are_too_big_or_not_png_or_jpeg_are_refused(admin, owner_db, restore_music):
    too_big = upload(admin, png(padding=520 * 1024))
    text = upload(admin, b"<svg xmlns='http://www.w3.org/2000/svg'><script/></svg>", "x.png")
    gif = upload(admin, b"GIF89a" + b"\x00" * 64, "logo.gif")
    cut_short = upload(admin, png()[:40])
    nothing = admin.post("/school/logo/", data={}, content_type="multipart/form-data")

    assert too_big.status_code == 422 and "keep it to 512 KB or less" in too_big.text
    for refused in (text, gif, cut_short):
        assert refused.status_code == 422 and "must be a PNG or JPEG" in refused.text
    assert nothing.status_code == 400 and "Choose an image file" in nothing.text
    assert owner_db.scalar(sa.select(sa.func.count()).select_from(SchoolLogo)) == 0


def test_only_the_school_admin_may_change_the_logo(visit, owner_db):
    student = visit("musicschool", "ada@musicschool.demo")
    assert upload(student, png()).status_code in (302, 403)
    assert owner_db.scalar(sa.select(sa.func.count()).select_from(SchoolLogo)) == 0


def test_navbar_text_stays_readable_on_any_colour():
    for colour in ("#ffffff", "#000000", "#1e3a8a", "#facc15", "#ef4444", "#808080"):
        text = text_colour_on(colour)
        assert contrast_ratio(colour, text) >= 4.5, (colour, text)
    assert logo_type(b"\xff\xd8\xff\xe0" + b"\x00" * 32 + b"\xff\xd9") == "image/jpeg"


def test_a_request_body_over_4_mb_is_refused_before_it_is_read(admin, owner_db):
    huge = upload(admin, png(padding=5 * 1024 * 1024))
    assert huge.status_code == 413, huge.status_code
    assert owner_db.scalar(sa.select(sa.func.count()).select_from(SchoolLogo)) == 0
