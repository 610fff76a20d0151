"""A school's look on its own subdomain: its logo and colour on the navbar of every page.

The colour is ``Organization.brand_colour`` (School settings, the panels' colour picker); the
navbar's text is white or near-black, whichever reads better on it (WCAG contrast). The logo
is a ``SchoolLogo`` row (PNG or JPEG, at most 512 KB, its type read from its bytes, never
from the file name or the browser's word), kept in the database so every web machine serves
it. It is served at ``/school/logo/<id>`` on the school's own host only: the row is looked up
by id *and* school (and RLS refuses the rest), so another school's logo id is a 404. A new
upload is a new row and a new URL, so a logo can be cached for a year.
"""

from __future__ import annotations

import hashlib
import struct
from dataclasses import dataclass

import sqlalchemy as sa
from flask import (
    Response,
    abort,
    current_app,
    flash,
    g,
    has_request_context,
    redirect,
    request,
    url_for,
)
from flask_appbuilder import BaseView, expose, has_access
from flask_wtf import FlaskForm
from flask_wtf.file import FileField

from app.extensions import db
from app.models import SchoolLogo
from app.tenancy import current_org

MAX_LOGO_BYTES = 512 * 1024
_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
_PNG_END = b"\x00\x00\x00\x00IEND\xaeB`\x82"
DEFAULT_NAVBAR = "#ffffff"


class LogoProblem(ValueError):
    """An upload that is not a logo we keep, in words for the admin."""


def logo_type(content: bytes) -> str:
    """``image/png`` or ``image/jpeg`` from the bytes themselves; anything else is refused."""
    if not content:
        raise LogoProblem("Choose an image file to upload.")
    if len(content) > MAX_LOGO_BYTES:
        raise LogoProblem(
            f"The logo is {len(content) // 1024} KB; keep it to {MAX_LOGO_BYTES // 1024} KB "
            "or less (a 400-pixel-wide PNG is usually far smaller)."
        )
    if content.startswith(_PNG_SIGNATURE) and _whole_png(content):
        return "image/png"
    if content.startswith(b"\xff\xd8\xff") and content.rstrip(b"\x00").endswith(b"\xff\xd9"):
        return "image/jpeg"
    raise LogoProblem("The logo must be a PNG or JPEG image.")


def _whole_png(content: bytes) -> bool:
    """Signature, then an IHDR chunk with a real size, and the IEND chunk at the end."""
    if len(content) < 8 + 25 + len(_PNG_END) or content[12:16] != b"IHDR":
        return False
    width, height = struct.unpack(">II", content[16:24])
    return 0 < width <= 10_000 and 0 < height <= 10_000 and content.endswith(_PNG_END)


def _logo_of(school_id: int) -> SchoolLogo | None:
    return db.session.scalar(sa.select(SchoolLogo).where(SchoolLogo.organization_id == school_id))


def save_logo(school_id: int, content: bytes) -> SchoolLogo:
    """Replace the school's logo (one transaction: the old row goes, the new one comes)."""
    content_type = logo_type(content)
    old = _logo_of(school_id)
    if old is not None:
        db.session.delete(old)
        db.session.flush()  # one logo per school: the old row must be gone first
    logo = SchoolLogo(
        organization_id=school_id,
        content=content,
        content_type=content_type,
        sha256=hashlib.sha256(content).hexdigest(),
    )
    db.session.add(logo)
    db.session.commit()
    return logo


def remove_logo(school_id: int) -> bool:
    old = _logo_of(school_id)
    if old is None:
        return False
    db.session.delete(old)
    db.session.commit()
    return True


# --- the navbar ---------------------------------------------------------------------------------


def _luminance(colour: str) -> float:
    """WCAG relative luminance of "#rrggbb"."""

    def channel(hex_pair: str) -> float:
        c = int(hex_pair, 16) / 255
        return c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4

    r, g_, b = (channel(colour[i : i + 2]) for i in (1, 3, 5))
    return 0.2126 * r + 0.7152 * g_ + 0.0722 * b


def contrast_ratio(one: str, other: str) -> float:
    light, dark = sorted((_luminance(one), _luminance(other)), reverse=True)
    return (light + 0.05) / (dark + 0.05)


def text_colour_on(background: str) -> str:
    """White or near-black, whichever contrasts more with ``background``."""
    white, ink = "#ffffff", "#000000"
    return white if contrast_ratio(background, white) >= contrast_ratio(background, ink) else ink


@dataclass(frozen=True)
class SchoolLook:
    name: str
    colour: str | None
    text_colour: str
    logo_url: str | None


def school_look() -> SchoolLook | None:
    """The current school's navbar, read once per request (None on the platform)."""
    if not has_request_context():
        return None
    if "school_look" not in g:
        school = current_org()
        if school is None:
            g.school_look = None
        else:
            logo_id = db.session.scalar(
                sa.select(SchoolLogo.id).where(SchoolLogo.organization_id == school.id)
            )
            colour = school.brand_colour
            g.school_look = SchoolLook(
                name=school.name,
                colour=colour,
                text_colour=text_colour_on(colour or DEFAULT_NAVBAR),
                logo_url=f"/school/logo/{logo_id}" if logo_id else None,
            )
    return g.school_look


# --- the admin's page and the image ---------------------------------------------------------


class LogoForm(FlaskForm):
    logo = FileField("Logo (PNG or JPEG, at most 512 KB)")


class RemoveLogoForm(FlaskForm):
    """No fields: the CSRF token of the remove button."""


class SchoolLogoView(BaseView):
    route_base = "/school/logo"
    default_view = "index"
    served_on = "school"

    def _page(self, form: LogoForm | None = None, status: int = 200):
        page = self.render_template(
            "school/logo.html",
            form=form or LogoForm(formdata=None),
            remove_form=RemoveLogoForm(),
            look=school_look(),
            max_kb=MAX_LOGO_BYTES // 1024,
        )
        return page, status

    @expose("/")
    @has_access
    def index(self):
        return self._page()

    @expose("/", methods=["POST"])
    @has_access
    def upload(self):
        form = LogoForm()
        if not form.validate():
            abort(400, description="The form expired; open the page again and retry.")
        upload = form.logo.data
        # Read one byte past the limit: enough to refuse, never the whole of a huge file.
        content = upload.read(MAX_LOGO_BYTES + 1) if upload else b""
        try:
            save_logo(current_org().id, content)
        except LogoProblem as problem:
            db.session.rollback()
            flash(str(problem), "danger")
            return self._page(form, 422 if content else 400)
        flash("Logo saved: it is on the school's navbar now.", "success")
        return redirect(url_for("SchoolLogoView.index"))

    @expose("/remove", methods=["POST"])
    @has_access
    def remove(self):
        if not RemoveLogoForm().validate():
            abort(400, description="The form expired; open the page again and retry.")
        removed = remove_logo(current_org().id)
        flash("Logo removed." if removed else "There was no logo to remove.", "success")
        return redirect(url_for("SchoolLogoView.index"))

    @expose("/<int:logo_id>")
    def image(self, logo_id: int):
        """Public (the navbar of the sign-in page shows it too), but only this school's."""
        school = current_org()
        if school is None:
            abort(404)
        logo = db.session.scalar(
            sa.select(SchoolLogo).where(
                SchoolLogo.id == logo_id, SchoolLogo.organization_id == school.id
            )
        )
        if logo is None:
            abort(404)
        etag = logo.sha256
        if request.if_none_match.contains(etag):
            response = Response(status=304)
        else:
            response = Response(logo.content, mimetype=logo.content_type)
        response.set_etag(etag)
        # A new logo is a new id: this URL's bytes never change.
        response.headers["Cache-Control"] = "public, max-age=31536000, immutable"
        response.headers["X-Content-Type-Options"] = "nosniff"
        response.headers["Content-Disposition"] = "inline"
        return response


def register(appbuilder) -> None:
    # Every template (FAB's navbar, the booking pages' top bar) reads ``school_look()``.
    current_app.add_template_global(school_look, "school_look")
    appbuilder.add_view(SchoolLogoView, "Logo", icon="fa-picture-o", category="School")
