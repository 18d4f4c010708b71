"""`caseflag report`: a real batch against the loopback DNS server, its report page opened in real
headless Chromium (charts drawn, nothing fetched from the network), a screenshot kept in test-artifacts/."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

CASEFLAG = str(Path(sys.executable).with_name("caseflag"))
ROOT = Path(__file__).resolve().parent.parent
ARTIFACTS = ROOT / "test-artifacts"
CHROMIUM = "/usr/bin/chromium"
NAMES = ("www.thepiratebay.org", "thepiratebay.org", "www.cf-shop.com", "cf-shop.com", "cf-dns-only.org",
         "plain-site.org", "asn-only.com", "servfail.com", "mega.nz", "megaupload.com", "no-such-site.com",
         "localhost")


@pytest.fixture(scope="module")
def report(dns_server, tmp_path_factory):
    place = tmp_path_factory.mktemp("report")
    source, output = place / "sites.txt", place / "verdicts.jsonl.gz"
    source.write_text("\n".join(NAMES) + "\n", encoding="utf-8")
    env = {**os.environ, "CASEFLAG_DNS_NAMESERVERS": dns_server.nameserver}
    batch = subprocess.run([CASEFLAG, "batch", str(source), "-o", str(output), "--retries", "0"],
                           capture_output=True, text=True, timeout=120, env=env)
    assert batch.returncode == 3, batch.stderr  # servfail.com: a failed lookup, said by the exit status
    done = subprocess.run([CASEFLAG, "report", str(output)], capture_output=True, text=True, timeout=120, env=env)
    assert done.returncode == 0, done.stderr
    page = Path(f"{output}.report.html")
    assert page.is_file()
    return page


def test_the_report_is_one_self_contained_page(report):
    text = report.read_text(encoding="utf-8")
    assert "<script src=" not in text and "cdn.plot.ly" not in text.split("</script>")[-1]
    assert "Sites by level" in text and "Cases by jurisdiction" in text and "Cases by year" in text
    assert "answers its DNS only" in text and "Provider evidence by kind" in text
    reached = text.split("<h2>Cases reached most often</h2>")[1].split("</table>")[0]
    assert "The Pirate Bay" in reached and "CC BY 4.0" in text  # the two Pirate Bay names reach its cases most
    assert "unavailable (lookups failed): <strong>1</strong>" in text


def test_a_bad_output_file_is_a_message_not_a_traceback(tmp_path):
    bad = tmp_path / "notes.jsonl"
    bad.write_text("my notes\n", encoding="utf-8")
    for target in (bad, tmp_path / "missing.jsonl"):
        done = subprocess.run([CASEFLAG, "report", str(target)], capture_output=True, text=True, timeout=60)
        assert done.returncode == 2 and done.stderr.startswith("caseflag: error:") and "Traceback" not in done.stderr


@pytest.mark.browser
def test_the_report_draws_its_charts_in_chromium_offline(report):
    from playwright.sync_api import sync_playwright

    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: `make test` installs Debian's chromium")
    ARTIFACTS.mkdir(exist_ok=True)
    requests = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"], headless=True)
        page = browser.new_page(viewport={"width": 1200, "height": 900})
        page.on("request", lambda request: requests.append(request.url))
        page.goto(report.as_uri())
        page.wait_for_function("document.querySelectorAll('.plot-container .main-svg').length >= 6", timeout=30000)
        bars = page.evaluate("document.querySelectorAll('g.point').length")
        page.screenshot(path=str(ARTIFACTS / "caseflag-report.png"), full_page=True)
        browser.close()
    assert bars >= 10
    assert all(url.startswith(("file:", "data:", "blob:")) for url in requests), requests
