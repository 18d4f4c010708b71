"""The wheel works once installed: built from the checkout, installed in a fresh virtual environment
outside it (pip fetches only the project's own dependencies), then `caseflag check` and the library."""

import json
import os
import subprocess
import sys
import venv
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent

LIBRARY = """
import asyncio, json, caseflag
checker = caseflag.Checker(offline=True)
one = checker.check("https://www.thepiratebay.org/search")
many = caseflag.Checker(offline=True).check_many(["mega.nz", "localhost"], compact=True)

async def in_a_running_loop():  # as a Jupyter cell runs: the synchronous call inside an event loop
    return checker.check("thepiratebay.org"), await checker.check_async("mega.nz")

inside, awaited = asyncio.run(in_a_running_loop())
print(json.dumps({"file": caseflag.__file__, "version": caseflag.__version__, "one": one["verdict"]["level"],
                  "many": [m.get("verdict", {}).get("level") or m["error"]["code"] for m in many],
                  "compact_cases": many[0]["matches"][0]["related"][0]["cases"],
                  "inside": inside["verdict"]["level"], "awaited": awaited["verdict"]["level"]}))
"""


@pytest.fixture(scope="module")
def installed(tmp_path_factory):
    """A virtual environment outside the checkout with only the built wheel (and its dependencies) installed."""
    place = tmp_path_factory.mktemp("wheel")
    built = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(place / "dist"),
                            str(REPO)], capture_output=True, text=True, timeout=600)
    assert built.returncode == 0, built.stderr
    (wheel,) = (place / "dist").glob("caseflag-*.whl")
    venv.create(place / "venv", with_pip=True)
    python = place / "venv" / "bin" / "python"
    done = subprocess.run([str(python), "-m", "pip", "install", "-q", str(wheel)], capture_output=True, text=True,
                          timeout=900, cwd=place)
    assert done.returncode == 0, done.stderr
    return place, python


def clean_env() -> dict:
    return {key: value for key, value in os.environ.items()
            if not key.startswith("CASEFLAG_") and key not in ("PYTHONPATH", "VIRTUAL_ENV")}


def test_the_installed_command_checks_with_the_bundled_data(installed):
    place, python = installed
    command = python.with_name("caseflag")
    done = subprocess.run([str(command), "check", "--offline", "thepiratebay.org"], capture_output=True, text=True,
                          timeout=120, cwd=place, env=clean_env())
    assert done.returncode == 0, done.stderr
    assert "verdict: TARGET" in done.stdout and "The Pirate Bay" in done.stdout
    lint = subprocess.run([str(command), "data", "lint"], capture_output=True, text=True, timeout=120, cwd=place,
                          env=clean_env())
    assert lint.returncode == 0, lint.stdout + lint.stderr


def test_the_installed_library_checks_one_many_sync_and_async(installed):
    place, python = installed
    done = subprocess.run([str(python), "-c", LIBRARY], capture_output=True, text=True, timeout=120, cwd=place,
                          env=clean_env())
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert not result["file"].startswith(str(REPO)) and result["version"]
    assert result["one"] == "target" and result["many"] == ["related", "not_public"]
    assert result["compact_cases"] == ["united-states-v-dotcom"]
    assert result["inside"] == "target" and result["awaited"] == "related"


def test_the_wheel_carries_the_licences_and_the_data_readme(installed):
    place, _ = installed
    (wheel,) = (place / "dist").glob("caseflag-*.whl")
    import zipfile

    names = zipfile.ZipFile(wheel).namelist()
    assert "caseflag/bundled_data/README.md" in names and "caseflag/bundled_data/LICENSE" in names
    assert any(name.endswith("licenses/LICENSE") for name in names)
    assert any(name.startswith("caseflag/bundled_data/schema/") for name in names)
