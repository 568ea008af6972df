"""The admin's CSS and JavaScript with DEBUG off, as the Docker image serves them.

The image runs `collectstatic` at build time and gunicorn serves the files itself (WhiteNoise):
hashed names cached for a year, compressed copies for clients that accept them.
"""

import re
import subprocess
import sys

import pytest
import requests

from tests.servers import PROJECT_DIR, AppServer, app_environment

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def collected(tmp_path_factory):
    root = tmp_path_factory.mktemp("static")
    env = app_environment(STATIC_ROOT=str(root), SQLITE_PATH=str(root / "unused.sqlite3"))
    result = subprocess.run(
        [sys.executable, "manage.py", "collectstatic", "--noinput"],
        cwd=PROJECT_DIR, env=env, capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    server = AppServer(env, workers=1, name="static").start()
    yield root, server
    server.stop()


def test_collectstatic_writes_hashed_and_compressed_copies(collected):
    root, _server = collected
    assert (root / "staticfiles.json").is_file()
    hashed = list((root / "admin" / "css").glob("base.*.css"))
    assert hashed, "no content-hashed copy of admin/css/base.css"
    assert any(path.with_name(path.name + ".gz").is_file() for path in hashed)


def test_admin_page_links_hashed_css_served_compressed_and_cached_for_a_year(collected):
    _root, server = collected
    page = requests.get(server.url("/admin/login/"), timeout=10)
    assert page.status_code == 200
    match = re.search(r'href="(/static/admin/css/base\.[0-9a-f]{12}\.css)"', page.text)
    assert match, "the admin page does not link the hashed stylesheet"

    css = requests.get(server.url(match.group(1)), headers={"Accept-Encoding": "gzip"}, timeout=10)

    assert css.status_code == 200
    assert css.headers["Content-Type"].startswith("text/css")
    assert css.headers["Content-Encoding"] == "gzip"
    assert "immutable" in css.headers["Cache-Control"]
    assert "max-age=315360000" in css.headers["Cache-Control"]
    assert "#header" in css.text  # requests decoded the gzip body: it is the real stylesheet


def test_admin_javascript_is_served_and_a_missing_file_is_a_404(collected):
    _root, server = collected
    script = requests.get(server.url("/static/admin/js/core.js"), timeout=10)
    assert script.status_code == 200
    assert "javascript" in script.headers["Content-Type"]
    # the unhashed name may change content at the next deploy: it is not cached for a year
    assert "immutable" not in script.headers.get("Cache-Control", "")

    missing = requests.get(server.url("/static/admin/css/no-such-file.css"), timeout=10)
    assert missing.status_code == 404
