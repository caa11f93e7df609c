"""`synspec docs`: the HTML data dictionary, its escaping, its files, and a real headless browser.

The browser test renders the pages in Debian's chromium (`.ci/setup-tests` installs it): the DOM must
hold every element a link points at and no element a spec string smuggled in, every file link
must exist, and a screenshot must show the plots (pixels of the plot colour).
"""

from __future__ import annotations

import re
import shutil
import subprocess
from html.parser import HTMLParser
from pathlib import Path

import pytest

from synspec.cli import main
from synspec.dictionary import render_spec, write_dictionary
from synspec.dictionary.page import anchor
from synspec.passes import check_text
from tests.conftest import SPECS
from tests.required import require_tool

HOSTILE = '''\
dataset `<script>alert("name")</script>`
  description "<script>alert('dataset')</script> & <b>bold</b>"
  target `a"><img src=x onerror=alert(1)>`

column `a"><img src=x onerror=alert(1)>`: categorical
  description "</td></tr></table><script>alert('description')</script>"
  unit "<i>unit</i>"
  levels "<script>", plain
  frequencies "<script>" 0.5, plain 0.5

column n: integer
  range 0 to 10
  mean 5
  sd 2

rule `<script>rule</script>`: `a"><img src=x onerror=alert(1)>` == "<script>" -> n > 1
  message "<script>alert('message')</script>"
  cite "</a><script>alert('cite')</script>"
'''


def _hostile_spec():  # type: ignore[no-untyped-def]
    checked = check_text(HOSTILE, "hostile.synspec")
    assert checked.spec is not None, [d.message for d in checked.errors]
    return checked.spec


def test_every_spec_string_is_escaped() -> None:
    html = render_spec(_hostile_spec())
    assert "<script" not in html.lower()
    assert "<img" not in html.replace('<img class="plot"', "")
    assert "<i>unit" not in html and "<b>bold" not in html
    assert "&lt;script&gt;alert(&#x27;message&#x27;)&lt;/script&gt;" in html
    ids = re.findall(r'id="([^"]*)"', html)
    assert all(re.fullmatch(r"[A-Za-z0-9_-]+", i) for i in ids), ids


def test_anchor_is_unique_and_safe() -> None:
    assert anchor("col", "a b") != anchor("col", "a_b")
    assert re.fullmatch(r"[A-Za-z0-9_-]+", anchor("rule", '<x y="1">'))


def test_pages_hold_what_the_spec_declares() -> None:
    from synspec.passes import check_file

    spec = check_file(SPECS / "diabetes.synspec").spec
    html = render_spec(spec)
    for text in ("HbA1c_level", "Glycated haemoglobin", "kg/m2", "0.08 to 80", "hba1c_means_diabetes",
                 "American Diabetes Association", "enforced by the row grammar", "What the grammar enforces",
                 "declared distribution of bmi"):
        assert text in html, text
    assert html.count('<img class="plot"') == len(spec.columns)  # every column declares a distribution


def test_cli_writes_refuses_and_forces(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    site = tmp_path / "site"
    specs = [str(SPECS / f"{n}.synspec") for n in ("diabetes", "cirrhosis", "stroke")]
    assert main(["docs", *specs, "-o", str(site)]) == 0
    assert sorted(p.name for p in site.iterdir()) == ["cirrhosis.html", "diabetes.html", "index.html",
                                                     "stroke.html"]
    assert main(["docs", *specs, "-o", str(site)]) == 2
    err = capsys.readouterr().err
    assert "already exists" in err and "--force" in err and "Traceback" not in err
    assert main(["docs", *specs, "-o", str(site), "--force"]) == 0
    (tmp_path / "file").write_text("x")
    assert main(["docs", specs[0], "-o", str(tmp_path / "file")]) == 2
    assert main(["docs", str(tmp_path / "missing.synspec"), "-o", str(site)]) == 2


# ---- in a real browser -----------------------------------------------------------------------
def _chromium() -> str:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        found = shutil.which(name)
        if found:
            return found
    require_tool("chromium is not installed (apt-get install -y chromium; .ci/setup-tests installs it)")


class _Dom(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.ids: set[str] = set()
        self.hrefs: list[str] = []
        self.tags: list[str] = []
        self.images: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        values = dict(attrs)
        if values.get("id"):
            self.ids.add(values["id"] or "")
        if tag == "a" and values.get("href"):
            self.hrefs.append(values["href"] or "")
        if tag == "img":
            self.images.append(values.get("src") or "")


def _browser(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([_chromium(), "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
                           "--allow-file-access-from-files", *args], capture_output=True, text=True,
                          timeout=120)


def test_pages_render_in_chromium_links_resolve_and_plots_show(tmp_path: Path) -> None:
    from synspec.passes import check_file

    _chromium()
    site = tmp_path / "site"
    specs = [check_file(SPECS / f"{n}.synspec").spec for n in ("diabetes", "cirrhosis", "stroke")]
    write_dictionary([*specs, _hostile_spec()], site)
    for page in sorted(site.glob("*.html")):
        done = _browser("--dump-dom", page.as_uri())
        assert done.returncode == 0, done.stderr
        dom = _Dom()
        dom.feed(done.stdout)
        assert "body" in dom.tags, page  # the browser rendered a document
        assert "script" not in dom.tags, page  # no spec string became markup
        for href in dom.hrefs:
            if href.startswith("#"):
                assert href[1:] in dom.ids, f"{page.name}: {href} points nowhere"
            else:
                assert not re.match(r"[a-z]+:", href), f"{page.name}: external link {href}"
                assert (site / href).is_file(), f"{page.name}: {href} does not exist"
        if page.name != "index.html":
            assert dom.images and all(src.startswith("data:image/png;base64,") for src in dom.images)
    shot = tmp_path / "shot.png"
    done = _browser("--window-size=1200,2400", f"--screenshot={shot}", (site / "stroke.html").as_uri())
    assert shot.exists(), done.stderr
    import matplotlib.image as mpimg
    import numpy as np

    pixels = (mpimg.imread(shot)[..., :3] * 255).astype(int)
    plot_colour = np.all(np.abs(pixels - np.array([76, 114, 176])) <= 40, axis=-1)
    assert plot_colour.sum() > 5_000, "the screenshot shows no plot"
