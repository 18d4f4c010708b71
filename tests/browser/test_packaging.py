"""The extension passes `web-ext lint` for Firefox, and the build script packs both browsers' zips."""

from __future__ import annotations

import json
import os
import subprocess
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
WEB_EXT = ROOT / "node_modules" / ".bin" / "web-ext"
# Firefox ignores background.service_worker; Chrome needs it. This warning is the price of one folder.
EXPECTED_WARNINGS = {"BACKGROUND_SERVICE_WORKER_IGNORED"}


def lint(source_dir: Path) -> dict:
    if not WEB_EXT.exists():
        pytest.fail(f"{WEB_EXT} not found: run `npm ci --no-audit --no-fund` at the repository root",
                    pytrace=False)
    proc = subprocess.run(
        [str(WEB_EXT), "lint", "--source-dir", str(source_dir), "--self-hosted", "--output", "json",
         "--no-config-discovery"],
        cwd=ROOT, capture_output=True, text=True, timeout=300, check=False,
    )
    try:
        return json.loads(proc.stdout)
    except json.JSONDecodeError:
        pytest.fail(f"web-ext lint printed no JSON (exit {proc.returncode}):\n{proc.stdout}\n{proc.stderr}")


def describe(report: dict, kind: str) -> list[str]:
    return [f"{m['code']} {m.get('file', '')}: {m['message']}" for m in report[kind]]


def test_web_ext_lint_finds_no_errors():
    """The unpacked folder lints for Firefox with 0 errors and only the expected warning."""
    report = lint(ROOT / "extension")
    assert report["summary"]["errors"] == 0, describe(report, "errors")
    assert {m["code"] for m in report["warnings"]} <= EXPECTED_WARNINGS, describe(report, "warnings")


def test_build_script_packs_a_zip_per_browser(tmp_path):
    """dist/ gets a Chrome zip (service worker only) and a Firefox zip (scripts only), same files."""
    subprocess.run(["bash", "scripts/build-extension.sh"], cwd=ROOT, check=True, capture_output=True,
                   env={**os.environ, "DIST_DIR": str(tmp_path)}, timeout=60)
    chrome = zipfile.ZipFile(tmp_path / "caseflag-chrome.zip")
    firefox = zipfile.ZipFile(tmp_path / "caseflag-firefox.zip")
    assert chrome.namelist() == firefox.namelist()
    names = set(chrome.namelist())
    assert {"manifest.json", "background.js", "popup/popup.html", "options/options.html",
            "_locales/en/messages.json", "_locales/de/messages.json", "icons/icon-128.png",
            "local.js", "data/index.json"} <= names  # the built-in list travels with the package
    assert not any(name.endswith((".py", ".md")) for name in names)

    chrome_manifest = json.loads(chrome.read("manifest.json"))
    firefox_manifest = json.loads(firefox.read("manifest.json"))
    assert chrome_manifest["background"] == {"service_worker": "background.js", "type": "module"}
    assert "browser_specific_settings" not in chrome_manifest
    assert firefox_manifest["background"] == {"scripts": ["background.js"], "type": "module"}
    assert firefox_manifest["browser_specific_settings"]["gecko"]["id"]


def test_firefox_zip_lints_without_warnings(tmp_path):
    """The Firefox package, unpacked, lints clean: no errors and no warnings."""
    subprocess.run(["bash", "scripts/build-extension.sh"], cwd=ROOT, check=True, capture_output=True,
                   env={**os.environ, "DIST_DIR": str(tmp_path)}, timeout=60)
    unpacked = tmp_path / "firefox"
    zipfile.ZipFile(tmp_path / "caseflag-firefox.zip").extractall(unpacked)
    report = lint(unpacked)
    assert report["summary"]["errors"] == 0, describe(report, "errors")
    assert report["summary"]["warnings"] == 0, describe(report, "warnings")
