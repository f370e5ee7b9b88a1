"""Build both editions and screenshot every page with headless Chromium, to look at what readers see.

    python book/_tools/screenshots.py                 # build both editions, then screenshot them
    python book/_tools/screenshots.py --no-build      # screenshot the HTML already in _build/
    python book/_tools/screenshots.py --pages 01_gan_game api --editions student

Writes, outside git (``_build/`` is ignored), ``_build/screenshots/<edition>/<page>.png`` (the whole page at
1280 px wide, cut below its content; up to 64,000 px) and ``<page>-NN.png`` (the same page in screens of 1280 x 1600, as a reader
scrolls). Needs ``chromium`` (Debian: ``apt-get install chromium``) and Pillow (a matplotlib dependency). The
pages are opened from ``file://`` without network, so what shows is what an offline reader sees (MathJax is the
book's own copy). Chromium runs each page's scripts for up to ``--wait`` seconds of virtual time first.
"""
from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import build_editions  # noqa: E402

ROOT = build_editions.ROOT
OUT = ROOT / "_build" / "screenshots"
EDITIONS = {"full": ROOT / "_build" / "html", "student": ROOT / "_build" / "student" / "_build" / "html"}
WIDTH, SCREEN, HEIGHTS = 1280, 1600, (40000, 64000)  # window heights tried: a page taller than the first
TIMEOUT_S = 300  # per screenshot


class PageFailed(RuntimeError):
    """One page could not be shot: reported, and the others are still shot."""


def chromium() -> str:
    for name in ("chromium", "chromium-browser", "google-chrome", "chrome"):
        if shutil.which(name):
            return shutil.which(name)
    raise SystemExit("no chromium found: apt-get install -y chromium")


def shoot(page: Path, png: Path, wait_s: float, height: int) -> None:
    cmd = [chromium(), "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--mute-audio",
           f"--window-size={WIDTH},{height}", f"--virtual-time-budget={int(wait_s * 1000)}",
           f"--screenshot={png}", page.resolve().as_uri()]
    try:
        res = subprocess.run(cmd, capture_output=True, text=True, timeout=TIMEOUT_S)
    except subprocess.TimeoutExpired:
        raise PageFailed(f"chromium took over {TIMEOUT_S} s on {page.name} (a busy machine? try --pages)") from None
    if res.returncode or not png.exists():
        raise PageFailed(f"chromium failed on {page}: {res.stderr.strip().splitlines()[-1:] or ''}")


def crop_and_split(png: Path, last_try: bool = True) -> list[Path] | None:
    """Cut the screenshot below the page's last content (the footer), then write screens of WIDTH x SCREEN; None
    (nothing written) when the page fills the window and a taller window is still to be tried."""
    from PIL import Image, ImageChops

    im = Image.open(png).convert("RGB")
    # rows with something in the content column (the sidebars' borders run down the whole window); the footer
    # sits at the bottom of the window, below a blank gap when the page is shorter than the window: cut there
    column = ImageChops.difference(im.crop((300, 0, 1000, im.height)).convert("L"),
                                   Image.new("L", (700, im.height), 255))
    rows = [y for y, v in enumerate(column.resize((1, im.height), Image.Resampling.BOX).tobytes()) if v > 0]
    bottom = rows[-1] if rows else SCREEN
    gaps = [(b - a, a) for a, b in zip(rows, rows[1:]) if b - a > 600]
    if gaps and rows[-1] > im.height - 200:  # the footer at the window's bottom: cut above the last big gap
        bottom = gaps[-1][1]
    elif rows and rows[-1] > im.height - 200:
        if not last_try:
            return None
        print(f"  {png.name}: the page may be taller than {im.height} px (cut)", file=sys.stderr)
    bottom = min(im.height, bottom + 24)
    im = im.crop((0, 0, WIDTH, bottom))
    im.save(png)
    screens = []
    for n, top in enumerate(range(0, bottom, SCREEN), 1):
        part = png.with_name(f"{png.stem}-{n:02d}.png")
        im.crop((0, top, WIDTH, min(top + SCREEN, bottom))).save(part)
        screens.append(part)
    return screens


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--no-build", action="store_true", help="use the HTML already built in _build/")
    ap.add_argument("--editions", nargs="+", choices=list(EDITIONS), default=list(EDITIONS))
    ap.add_argument("--pages", nargs="+", help="page names (default: every page of book/)")
    ap.add_argument("--wait", type=float, default=20, help="virtual seconds for a page's scripts (MathJax)")
    args = ap.parse_args()
    if not args.no_build:
        if "full" in args.editions:
            build_editions.build_full()
        if "student" in args.editions:
            build_editions.build_student()
    failed: list[str] = []
    for edition in args.editions:
        html = EDITIONS[edition]
        pages = sorted((html / "book").glob("*.html"))
        if args.pages:
            pages = [p for p in pages if p.stem in args.pages]
        if not pages:
            raise SystemExit(f"no pages in {html}: build first (without --no-build)")
        out = OUT / edition
        out.mkdir(parents=True, exist_ok=True)
        for old in out.glob("*.png"):
            if not args.pages or old.stem.split("-")[0] in args.pages:
                old.unlink()
        for page in pages:
            png = out / f"{page.stem}.png"
            try:
                for i, height in enumerate(HEIGHTS):
                    shoot(page, png, args.wait, height)
                    screens = crop_and_split(png, last_try=i == len(HEIGHTS) - 1)
                    if screens is not None:
                        break
            except PageFailed as exc:
                failed.append(str(exc))
                print(f"{edition}: {exc}", file=sys.stderr, flush=True)
                continue
            print(f"{png.relative_to(ROOT)}: {len(screens)} screens", flush=True)
    if failed:
        raise SystemExit(f"{len(failed)} page(s) not shot: " + "; ".join(failed))


if __name__ == "__main__":
    main()
