"""Opening a report in a real headless browser (Debian's chromium) and reading back what it drew.

A probe script is put at the top of a copy of the page: it records console errors and uncaught errors, then,
once the page has loaded, waits (up to 15 s of page time) until every image decoded, every video has frames and
every plotly figure drew, and writes what it saw as JSON into the page, which ``chromium --dump-dom`` returns.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

PROBE = """<script>
window.__errors = [];
window.addEventListener('error',
  e => window.__errors.push(String(e.message || (e.target && e.target.tagName) || e.type)), true);
const __ce = console.error;
console.error = (...a) => { window.__errors.push(a.map(String).join(' ')); __ce(...a); };
function __report() {
  const imgs = [...document.images].filter(i => !i.closest('video'));
  const vids = [...document.querySelectorAll('video')];
  const plots = [...document.querySelectorAll('.plotly-figure')];
  return {errors: window.__errors, images: imgs.length,
          bad_images: imgs.filter(i => !(i.complete && i.naturalWidth > 0)).map(i => i.alt),
          videos: vids.length, bad_videos: vids.filter(v => !(v.readyState >= 2 && v.videoWidth > 0)).length,
          plots: plots.length, drawn_plots: plots.filter(p => p.querySelector('.main-svg') &&
                                                       p.querySelector('.gl-container canvas, canvas')).length};
}
window.addEventListener('load', () => {
  const started = Date.now();
  const poll = () => {  // until every image, video and plot is ready, or 15 s of page time have passed
    const r = __report();
    const ready = r.bad_images.length === 0 && r.bad_videos === 0 && r.drawn_plots === r.plots;
    if (!ready && Date.now() - started < 15000) { setTimeout(poll, 250); return; }
    const pre = document.createElement('pre'); pre.id = 'probe-result'; pre.textContent = JSON.stringify(r);
    document.body.appendChild(pre);
  };
  setTimeout(poll, 500);
});
</script>"""


def browser() -> str | None:
    """The chromium executable, or None where none is installed."""
    return shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")


FLAGS = ["--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--use-angle=swiftshader",
         "--enable-unsafe-swiftshader", "--autoplay-policy=no-user-gesture-required", "--hide-scrollbars"]


def probe(report: Path, exe: str, tmp: Path) -> dict[str, Any]:
    """Open ``report`` in the browser and return what the probe saw."""
    page = tmp / "probe.html"
    page.write_text(report.read_text(encoding="utf-8").replace("<head>", "<head>" + PROBE, 1), encoding="utf-8")
    res = subprocess.run([exe, *FLAGS, "--virtual-time-budget=30000", "--dump-dom", page.as_uri()],
                         capture_output=True, text=True, timeout=240)
    found = re.search(r'<pre id="probe-result">(.*?)</pre>', res.stdout, re.S)
    if not found:
        raise AssertionError(f"the probe never reported (exit {res.returncode}): {res.stderr[-1500:]}")
    return json.loads(found.group(1).replace("&quot;", '"').replace("&amp;", "&").replace("&lt;", "<")
                      .replace("&gt;", ">"))


def screenshot(report: Path, exe: str, dest: Path, size: str = "1280,2000") -> Path:
    """A PNG of the top of the report, as a reader first sees it."""
    subprocess.run([exe, *FLAGS, f"--window-size={size}", f"--screenshot={dest}", "--virtual-time-budget=10000",
                    report.resolve().as_uri()], capture_output=True, timeout=240, check=True)
    return dest
