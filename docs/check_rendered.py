"""Check the built documentation site: rendered pages and internal links.

Usage (after ``make -C docs html``)::

    python docs/check_rendered.py [BUILD_DIR] [--screenshot PNG]

1. **Rendering.** The front page (``site_index.html``) and one gallery page
   are opened in headless Chromium (``chromium --headless --dump-dom``); the
   DOM Chromium produced must have the page's title (``<title>`` and an
   ``<h1>`` with the expected text) and at least one ``<img>`` whose file
   exists in the build and is a real PNG/SVG/JPEG. ``--screenshot`` also
   writes a PNG of the front page. Without a Chromium binary (``chromium``,
   ``chromium-browser``, ``google-chrome`` or ``$CHROMIUM``) this part prints a
   ``SKIP`` line and does not fail; with one, a missing title or image fails.
2. **Internal links.** Every ``href``/``src`` of every built page that points
   inside the site must name an existing file, and a ``#fragment`` must be an
   ``id`` (or ``name``) in the target page. Web addresses are not checked.

Exit status 0 when everything checked passed, 1 otherwise.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urlsplit

#: pages opened in Chromium: (path in the build, text its title must contain)
PAGES = [
    ("site_index.html", "dante"),
    ("auto_examples/plot_dante_vs_sgd_digits.html", "DANTE against SGD"),
]
BROWSERS = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
IMAGE_MAGIC = (b"\x89PNG", b"<svg", b"<?xml", b"\xff\xd8\xff", b"GIF8")


class _Page(HTMLParser):
    """Collects the title, h1 texts, image sources, links and element ids."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.title = ""
        self.h1: list[str] = []
        self.images: list[str] = []
        self.links: list[str] = []
        self.ids: set[str] = set()
        self._in: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        for key in ("id", "name"):
            if a.get(key):
                self.ids.add(a[key])
        if tag == "img" and a.get("src"):
            self.images.append(a["src"])
        if tag in ("a", "link") and a.get("href"):
            self.links.append(a["href"])
        if tag in ("img", "script") and a.get("src"):
            self.links.append(a["src"])
        if tag in ("title", "h1"):
            self._in = tag
            if tag == "h1":
                self.h1.append("")

    def handle_endtag(self, tag: str) -> None:
        if tag == self._in:
            self._in = None

    def handle_data(self, data: str) -> None:
        if self._in == "title":
            self.title += data
        elif self._in == "h1":
            self.h1[-1] += data


def parse(html: str) -> _Page:
    page = _Page()
    page.feed(html)
    return page


def find_browser() -> str | None:
    env = os.environ.get("CHROMIUM")
    if env:
        return env if shutil.which(env) or Path(env).exists() else None
    for name in BROWSERS:
        path = shutil.which(name)
        if path:
            return path
    return None


def _chromium(browser: str, *args: str, timeout: int = 120) -> subprocess.CompletedProcess:
    with tempfile.TemporaryDirectory() as profile:
        cmd = [
            browser,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-dev-shm-usage",
            "--no-first-run",
            "--disable-extensions",
            f"--user-data-dir={profile}",
            "--virtual-time-budget=5000",
            *args,
        ]
        return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)


def check_rendering(build: Path, browser: str, screenshot: Path | None) -> list[str]:
    errors = []
    for rel, expected in PAGES:
        path = build / rel
        if not path.exists():
            errors.append(f"{rel}: not built")
            continue
        proc = _chromium(browser, "--dump-dom", path.resolve().as_uri())
        if proc.returncode != 0 or "<html" not in proc.stdout:
            errors.append(f"{rel}: chromium failed (rc {proc.returncode}): {proc.stderr[-500:]}")
            continue
        page = parse(proc.stdout)
        heading = " ".join(h.strip() for h in page.h1)
        if expected.lower() not in page.title.lower() or expected.lower() not in heading.lower():
            errors.append(
                f"{rel}: title {page.title.strip()!r} / h1 {heading!r} lacks {expected!r}"
            )
        good = []
        for src in page.images:
            parts = urlsplit(src)
            if parts.scheme or parts.netloc:
                continue
            target = (path.parent / unquote(parts.path)).resolve()
            if target.is_file() and target.read_bytes()[:5].lstrip().startswith(IMAGE_MAGIC):
                good.append(src)
        if not good:
            errors.append(f"{rel}: no <img> with an image file in the rendered DOM")
        print(
            f"rendered {rel}: title {page.title.strip()!r}, "
            f"{len(good)} image(s) of {len(page.images)} <img>"
        )
    if screenshot is not None:
        screenshot.parent.mkdir(parents=True, exist_ok=True)
        proc = _chromium(
            browser,
            "--hide-scrollbars",
            "--window-size=1280,1000",
            f"--screenshot={screenshot.resolve()}",
            (build / PAGES[0][0]).resolve().as_uri(),
        )
        if not screenshot.exists() or screenshot.stat().st_size == 0:
            errors.append(f"screenshot {screenshot} not written: {proc.stderr[-500:]}")
        else:
            print(f"screenshot of the front page: {screenshot}")
    return errors


def check_links(build: Path) -> list[str]:
    # _static holds the theme's Jinja macro files (not pages); _sources the .txt copies
    skip = {"_sources", "_static"}
    pages = {p.resolve(): None for p in build.rglob("*.html") if not skip & set(p.parts)}
    ids: dict[Path, set[str]] = {}

    def ids_of(target: Path) -> set[str]:
        if target not in ids:
            ids[target] = parse(target.read_text(encoding="utf-8", errors="replace")).ids
        return ids[target]

    errors, n_links = [], 0
    for page_path in sorted(pages):
        page = parse(page_path.read_text(encoding="utf-8", errors="replace"))
        ids[page_path] = page.ids
        for link in page.links:
            parts = urlsplit(link)
            if parts.scheme or parts.netloc or link.startswith(("mailto:", "javascript:")):
                continue
            n_links += 1
            target = (page_path.parent / unquote(parts.path)).resolve() if parts.path else page_path
            rel = page_path.relative_to(build.resolve())
            if target.is_dir():
                target = target / "index.html"
            if not target.exists():
                errors.append(f"{rel}: broken link {link!r}")
                continue
            frag = unquote(parts.fragment)
            if frag and target.suffix == ".html" and frag not in ids_of(target):
                errors.append(f"{rel}: link {link!r}: no id {frag!r} in the target page")
    print(f"internal links: {n_links} checked in {len(pages)} pages, {len(errors)} broken")
    return errors


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("build", nargs="?", default=str(Path(__file__).parent / "_build" / "html"))
    ap.add_argument("--screenshot", type=Path, help="write a PNG of the front page here")
    args = ap.parse_args(argv)
    build = Path(args.build)
    if not (build / PAGES[0][0]).exists():
        print(f"FAIL: {build / PAGES[0][0]} does not exist; build the site first")
        return 1
    errors = check_links(build)
    browser = find_browser()
    if browser is None:
        print(
            "SKIP: rendering check: no Chromium found (apt-get install chromium, or set "
            "CHROMIUM=/path/to/chrome); the internal links were still checked"
        )
    else:
        errors += check_rendering(build, browser, args.screenshot)
    for e in errors:
        print("FAIL:", e)
    if not errors:
        print("OK: the site renders and its internal links resolve")
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
