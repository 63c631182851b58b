"""Open three pages of the built site in headless Chromium, check that each shows its text and its figures, and keep
a screenshot of each.

    python docs/screenshots.py      # after python docs/build.py; needs playwright and a Chromium (CI installs both)

The pages: the index, a guide with figures (what each layer learned) and the first page of the examples' gallery.
A page fails when it renders less text than it should, when one of its images did not load (a missing file, an
example whose figure was not drawn), or when its screenshot is blank. Screenshots go to docs/_build/screenshots/.
Chromium is found on the PATH (``chromium``, ``chromium-browser``, ``google-chrome``) or at ``$CHROMIUM``.
"""
from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

HTML = Path(__file__).resolve().parent / "_build" / "html"
SHOTS = HTML.parent / "screenshots"
#: Chromium's flags on a machine without a network or a screen (no background connections, no sandbox as root)
FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
         "--disable-component-update", "--disable-sync"]


def pages() -> list[tuple[str, int, int]]:
    """(page, least characters of text, least images) of each page to check."""
    gallery = sorted(p for p in (HTML / "auto_examples").glob("*.html") if p.name != "index.html")
    if not gallery:
        raise SystemExit("no gallery page in the built site: build it first (python docs/build.py)")
    return [("index.html", 1500, 1), ("guides/analysis.html", 1000, 2),
            (str(gallery[0].relative_to(HTML)), 300, 1)]


def chromium() -> str:
    for name in (os.environ.get("CHROMIUM"), "chromium", "chromium-browser", "google-chrome"):
        path = name and shutil.which(name)
        if path:
            return path
    raise SystemExit("no Chromium found: install it (Debian: apt-get install chromium) or set $CHROMIUM")


def blank(png: Path) -> bool:
    """True when the screenshot is one colour (or nearly)."""
    from PIL import Image, ImageStat
    stats = ImageStat.Stat(Image.open(png).convert("L"))
    return stats.stddev[0] < 2.0


def check(page, path: str, least_text: int, least_images: int) -> list[str]:
    page.goto((HTML / path).as_uri(), wait_until="load")
    text = page.inner_text("article") if page.query_selector("article") else page.inner_text("body")
    images = page.evaluate("""() => Array.from(document.querySelectorAll('article img')).map(
        i => ({src: i.getAttribute('src'), ok: i.complete && i.naturalWidth > 0}))""")
    shot = SHOTS / (path.replace("/", "_").replace(".html", ".png"))
    page.screenshot(path=str(shot), full_page=True)
    problems = []
    if len(text) < least_text:
        problems.append(f"{path}: {len(text)} characters of text, expected at least {least_text}")
    if len(images) < least_images:
        problems.append(f"{path}: {len(images)} images, expected at least {least_images}")
    problems += [f"{path}: image {i['src']} did not load" for i in images if not i["ok"]]
    if blank(shot):
        problems.append(f"{path}: the screenshot {shot} is blank")
    print(f"{path}: {len(text)} characters, {sum(i['ok'] for i in images)}/{len(images)} images loaded -> {shot}")
    return problems


def main() -> int:
    from playwright.sync_api import sync_playwright
    SHOTS.mkdir(parents=True, exist_ok=True)
    problems = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium(), args=FLAGS)
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        for path, least_text, least_images in pages():
            if not (HTML / path).exists():
                problems.append(f"{path}: not in the built site")
                continue
            problems += check(page, path, least_text, least_images)
        browser.close()
    for problem in problems:
        print(problem, file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
