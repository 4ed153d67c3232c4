"""The built HTML book, as a reader sees it, with no network.

* Every internal link and anchor of the built site resolves (no browser needed).
* Headless Chromium (Debian's ``chromium``, driven by Playwright, which downloads no browser)
  loads every page of the table of contents with every non-``file://`` request blocked, and
  checks: the math is typeset by the MathJax served from the site, with no MathJax error and no
  raw TeX left in the visible text; every image loaded and has meaningful alt text; no console
  errors; no code or output block wider than the page at 1280 px; the launch (Colab) and
  download buttons are there.

Both need the book built in ``_build/html`` (``.ci/run`` builds it before running the tests). In
CI (``CI=true``) a missing build or browser is a failure; elsewhere the tests skip and say what
to run or install.
"""
from __future__ import annotations

import os
import re
import shutil
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urlparse

import pytest

from tools import notebooks as nbt

HTML = nbt.ROOT / "_build" / "html"
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")
BUILD_HINT = ("no built book in _build/html: run `jupyter-book build --warningiserror "
              "--keep-going .` first")
CHROMIUM_HINT = "no Chromium found: install Debian's package with `apt-get install chromium`"
RAW_TEX = re.compile(r"\\\(|\\\)|\\\[|\\\]|\$\$|\\begin\{|\\frac\{|\\mathbf\{")
HASHED_NAME = re.compile(r"^[0-9a-f]{16,}(\.\w+)?$")


def need(condition: bool, hint: str) -> None:
    if not condition:
        if IN_CI:
            pytest.fail(hint)
        pytest.skip(hint)


def pages() -> list[Path]:
    return [HTML / f"{entry}.html" for entry in nbt.toc_files()]


class _Links(HTMLParser):
    def __init__(self):
        super().__init__()
        self.ids: set[str] = set()
        self.targets: list[str] = []

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if a.get("id"):
            self.ids.add(a["id"])
        if tag == "a" and a.get("name"):
            self.ids.add(a["name"])
        for key in ("href", "src"):
            if a.get(key) and tag in ("a", "img", "script", "link"):
                self.targets.append(a[key])


def _parse(path: Path) -> _Links:
    parser = _Links()
    parser.feed(path.read_text(encoding="utf-8"))
    return parser


def test_every_internal_link_and_anchor_resolves():
    need(HTML.is_dir(), BUILD_HINT)
    # the book's pages (theme templates in _static/ are not pages)
    files = sorted(p for p in HTML.rglob("*.html")
                   if not {"_sources", "_static"} & set(p.relative_to(HTML).parts))
    parsed = {p: _parse(p) for p in files}
    broken = []
    for page, links in parsed.items():
        for target in links.targets:
            url = urlparse(target)
            if url.scheme or target.startswith("//") or target.startswith("javascript:"):
                continue
            path_part, anchor = url.path, url.fragment
            dest = (page.parent / unquote(path_part)).resolve() if path_part else page
            if not dest.exists():
                broken.append(f"{page.relative_to(HTML)}: {target} (no such file)")
                continue
            if anchor and dest.suffix == ".html":
                ids = parsed[dest].ids if dest in parsed else _parse(dest).ids
                if unquote(anchor) not in ids:
                    broken.append(f"{page.relative_to(HTML)}: {target} (no such anchor)")
    assert not broken, f"{len(broken)} broken internal links:\n" + "\n".join(broken[:40])


CHECK_PAGE = """
async () => {
  if (window.MathJax && MathJax.startup && MathJax.startup.promise) {
    await MathJax.startup.promise;
  }
  const article = document.querySelector('article') || document.body;
  const clone = article.cloneNode(true);
  clone.querySelectorAll('pre, code, script, style, mjx-container, .highlight, '
                         + '.cell_input, .MathJax_Preview').forEach(e => e.remove());
  const imgs = [...document.querySelectorAll('article img')];
  return {
    mathjax: !!(window.MathJax && MathJax.version),
    mathjaxSrc: [...document.scripts].map(s => s.src).filter(s => /mathjax/i.test(s)),
    typeset: document.querySelectorAll('mjx-container').length,
    merrors: [...document.querySelectorAll('mjx-merror')].map(e => e.textContent),
    text: clone.innerText,
    brokenImages: imgs.filter(i => !(i.complete && i.naturalWidth > 0)).map(i => i.src),
    alts: imgs.map(i => [i.src.split('/').pop(), i.alt || '']),
    clipped: [...document.querySelectorAll('article pre')]
      .filter(p => p.scrollWidth > p.clientWidth + 1).map(p => p.textContent.slice(0, 60)),
    launch: !!document.querySelector('.dropdown-launch-buttons a[href*="colab"]'),
    download: !!document.querySelector('.dropdown-download-buttons'),
  };
}
"""


def test_every_page_renders_offline_in_chromium():
    need(HTML.is_dir(), BUILD_HINT)
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    need(chromium is not None, CHROMIUM_HINT)
    from playwright.sync_api import sync_playwright

    problems: list[str] = []
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=chromium, args=[
            "--no-sandbox", "--disable-gpu", "--disable-background-networking",
            "--disable-component-update", "--disable-sync", "--no-first-run"])
        context = browser.new_context(viewport={"width": 1280, "height": 900})
        blocked: list[str] = []

        def offline(route):
            if route.request.url.startswith("file://"):
                route.continue_()
            else:
                blocked.append(route.request.url)
                route.abort()

        context.route("**/*", offline)
        # one tab for every page: a new tab per page costs a third more CPU time
        page = context.new_page()
        errors: list[str] = []
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        for path in pages():
            name = path.relative_to(HTML).as_posix()
            if not path.exists():
                problems.append(f"{name}: not built")
                continue
            errors.clear()
            blocked.clear()
            page.goto(path.as_uri(), wait_until="load")
            r = page.evaluate(CHECK_PAGE)
            has_math = "chapters/" in name or r["typeset"]
            if has_math and not r["mathjax"]:
                problems.append(f"{name}: MathJax did not load ({r['mathjaxSrc']})")
            if has_math and r["typeset"] == 0:
                problems.append(f"{name}: no math was typeset")
            if r["merrors"]:
                problems.append(f"{name}: MathJax errors {r['merrors'][:3]}")
            tex = RAW_TEX.search(r["text"])
            if tex:
                start = max(tex.start() - 60, 0)
                problems.append(f"{name}: raw TeX in the text: {r['text'][start:tex.end() + 60]!r}")
            if r["brokenImages"]:
                problems.append(f"{name}: images not loaded {r['brokenImages'][:3]}")
            bad_alt = [f for f, alt in r["alts"]
                       if not alt.strip() or HASHED_NAME.match(alt.strip().split("/")[-1])
                       or alt.strip().split("/")[-1] == f]
            if bad_alt:
                problems.append(f"{name}: {len(bad_alt)} images without meaningful alt text "
                                f"({bad_alt[:2]})")
            if r["clipped"]:
                problems.append(f"{name}: {len(r['clipped'])} code or output blocks wider than "
                                f"the page at 1280 px: {r['clipped'][:2]}")
            if errors:
                problems.append(f"{name}: console errors {errors[:3]}")
            if blocked:
                problems.append(f"{name}: tried to reach the network: {sorted(set(blocked))[:3]}")
            if name.startswith("chapters/") and not (r["launch"] and r["download"]):
                problems.append(f"{name}: launch button {r['launch']}, "
                                f"download button {r['download']}")
        browser.close()
    assert not problems, f"{len(problems)} problems:\n" + "\n".join(problems)
