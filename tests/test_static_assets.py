"""Static files: versioned URLs cached for a year, anything else checked again, no queries."""

from __future__ import annotations

import re

import pytest

from app.static_assets import _version
from tests.conftest import statements_run

PAGES = [("musicschool", "grace@musicschool.demo", "/instructorqualificationview/add"),
         ("musicschool", None, "/book/"),
         (None, None, "/login/")]  # fmt: skip


def _asset_urls(page: str) -> list[str]:
    return re.findall(r'(?:src|href)="(/static/[^"]+)"', page)


@pytest.mark.parametrize(("school", "email", "path"), PAGES)
def test_every_file_a_page_links_names_its_version_and_is_kept_a_year(visit, school, email, path):
    visitor = visit(school, email)
    page = visitor.get(path)
    urls = _asset_urls(page.get_data(as_text=True))
    assert page.status_code == 200 and urls, f"{path}: {page.status_code}, {urls}"
    for url in urls:
        assert re.search(r"\?v=[0-9a-f]+-[0-9a-f]+$", url), f"{path} links {url} without a version"
        response = visitor.get(url)
        assert response.status_code == 200, f"{url} -> {response.status_code}"
        assert response.cache_control.max_age == 365 * 24 * 3600 and response.cache_control.public
        assert response.cache_control.immutable and not response.cache_control.no_cache


def test_a_file_without_its_current_version_is_checked_again_each_time(visit):
    visitor = visit("musicschool")
    for url in ("/static/panel-forms.js", "/static/panel-forms.js?v=1-2"):
        response = visitor.get(url)
        assert response.status_code == 200 and response.cache_control.no_cache, (
            f"{url}: {response.status_code} {response.headers.get('Cache-Control')}"
        )


def test_a_missing_file_is_a_404_and_never_cached(visit):
    response = visit("musicschool").get("/static/no-such-file.js?v=1-2")
    assert response.status_code == 404
    assert response.cache_control.max_age is None


def test_versions_differ_by_file_and_a_missing_file_has_none(tmp_path):
    (tmp_path / "a.js").write_text("one")
    (tmp_path / "b.js").write_text("three")
    assert _version(str(tmp_path), "a.js") != _version(str(tmp_path), "b.js")
    assert _version(str(tmp_path), "missing.js") is None
    assert _version(str(tmp_path), "../etc/passwd") is None


def test_serving_a_static_file_asks_the_database_nothing(app, visit):
    visitor = visit("musicschool", "grace@musicschool.demo")
    url = _asset_urls(visitor.get("/book/").get_data(as_text=True))[0]
    with statements_run(app) as statements:
        for _ in range(3):
            assert visitor.get(url).status_code == 200
    assert statements == [], f"a static file ran {len(statements)} statements: {statements[:3]}"


def test_static_files_are_refused_on_a_host_that_is_not_ours(app):
    response = app.test_client().get("/static/panel-forms.js", base_url="http://elsewhere.example")
    assert response.status_code == 404
