"""The extension's files: manifest, icons, locales and the no-strings-in-HTML, no-innerHTML rules."""

from __future__ import annotations

import json
import re
import struct
from html.parser import HTMLParser
from pathlib import Path

import pytest

EXTENSION_DIR = Path(__file__).resolve().parents[2] / "extension"
LOCALES = ("en", "de")


def manifest() -> dict:
    return json.loads((EXTENSION_DIR / "manifest.json").read_text(encoding="utf-8"))


def messages(lang: str) -> dict:
    return json.loads((EXTENSION_DIR / "_locales" / lang / "messages.json").read_text(encoding="utf-8"))


def png_size(path: Path) -> tuple[int, int]:
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n", f"{path} is not a PNG"
    return struct.unpack(">II", data[16:24])


def test_manifest_asks_for_the_fewest_permissions():
    """MV3; storage and webNavigation up front and no host at all; a server's host and the
    connection permission (webRequest) only when asked for in the settings."""
    data = manifest()
    assert data["manifest_version"] == 3
    assert data["permissions"] == ["storage", "webNavigation"]
    assert "host_permissions" not in data
    assert data["optional_permissions"] == ["webRequest"]
    assert data["optional_host_permissions"] == ["http://*/*", "https://*/*"]
    assert "content_scripts" not in data


def test_manifest_puts_the_button_on_the_toolbar_and_gives_it_a_shortcut():
    """Firefox is asked for the toolbar (action.default_area), and the panel has a keyboard shortcut
    described in both languages."""
    data = manifest()
    assert data["action"]["default_area"] == "navbar"
    command = data["commands"]["_execute_action"]
    assert command["suggested_key"]["default"]
    key = re.fullmatch(r"__MSG_(\w+)__", command["description"]).group(1)
    assert all(key in messages(lang) for lang in LOCALES)


def test_the_report_address_is_the_projects():
    """extension/project.json is made from pyproject.toml's [project.urls] (one place), and its
    issue template exists with fields for the domain, the problem and a source link."""
    import subprocess
    import sys
    import tomllib

    root = EXTENSION_DIR.parent
    check = subprocess.run([sys.executable, "scripts/project_json.py", "--check"], cwd=root,
                           capture_output=True, text=True, check=False)
    assert check.returncode == 0, check.stderr
    project = json.loads((EXTENSION_DIR / "project.json").read_text(encoding="utf-8"))
    urls = tomllib.loads((root / "pyproject.toml").read_text(encoding="utf-8"))["project"]["urls"]
    assert project["issue_form"] == urls["Repository"] + "/issues/new"
    template = (root / ".github" / "ISSUE_TEMPLATE" / project["issue_template"]).read_text(encoding="utf-8")
    for field in ("domain", "verdict", "entity", "dataset_version", "problem", "source"):
        assert re.search(rf"^\s+id: {field}$", template, re.M), field


def test_each_locale_names_its_own_language():
    """Dates and language names follow the localeTag of the strings in use."""
    for lang in LOCALES:
        assert messages(lang)["localeTag"]["message"] == lang


def test_special_use_names_are_the_servers():
    """common.js skips exactly the special-use suffixes the server refuses (plus .lan)."""
    from caseflag.core.specialuse import SPECIAL_USE_SUFFIXES

    text = (EXTENSION_DIR / "common.js").read_text(encoding="utf-8")
    block = re.search(r"SPECIAL_USE_SUFFIXES = Object\.freeze\(\[(.*?)\]\)", text, re.S).group(1)
    assert tuple(re.findall(r'"([^"]+)"', block)) == SPECIAL_USE_SUFFIXES


def test_the_bundled_list_is_the_export_of_data():
    """extension/data/index.json is there for the built-in mode and names its special-use suffixes."""
    index = json.loads((EXTENSION_DIR / "data" / "index.json").read_text(encoding="utf-8"))
    assert {"format", "version", "date"} <= set(index)
    from caseflag.core.specialuse import SPECIAL_USE_SUFFIXES

    assert tuple(index["special_use"]["suffixes"]) == SPECIAL_USE_SUFFIXES


def test_manifest_loads_in_chrome_and_firefox():
    """Both background keys, a Gecko id, localized name and description, and a CSP that keeps http."""
    data = manifest()
    assert data["background"]["service_worker"] == "background.js"
    assert data["background"]["scripts"] == ["background.js"]
    assert data["browser_specific_settings"]["gecko"]["id"]
    assert data["default_locale"] == "en"
    for key in ("name", "short_name", "description"):
        assert re.fullmatch(r"__MSG_\w+__", data[key])
    # Firefox's default adds upgrade-insecure-requests, which would turn an http:// server's address into https://.
    assert data["content_security_policy"]["extension_pages"] == "script-src 'self'; object-src 'self'"


def test_icons_exist_at_their_declared_sizes():
    """Every icon the manifest or the toolbar button names is a PNG of its declared size."""
    data = manifest()
    declared = {**data["icons"], **data["action"]["default_icon"]}
    declared.update({size: f"icons/icon-off-{size}.png" for size in ("16", "32")})
    for size, path in declared.items():
        assert png_size(EXTENSION_DIR / path) == (int(size), int(size)), path
    toolbar = (EXTENSION_DIR / "toolbar.js").read_text(encoding="utf-8")
    for path in re.findall(r'"/(icons/[\w.-]+\.png)"', toolbar):
        assert (EXTENSION_DIR / path).is_file(), path


@pytest.mark.parametrize("lang", LOCALES)
def test_every_message_has_a_description_and_its_placeholders(lang):
    """Each string has a description for translators and defines exactly the placeholders it uses."""
    for key, entry in messages(lang).items():
        assert entry.get("description", "").strip(), f"{lang}:{key} has no description"
        used = {name.lower() for name in re.findall(r"\$([A-Za-z_]+)\$", entry["message"])}
        assert used == set(entry.get("placeholders", {})), f"{lang}:{key} placeholders"


def test_locales_have_the_same_keys_and_placeholders():
    """German translates every English string, with the same placeholders in the same order."""
    english, german = messages("en"), messages("de")
    assert set(english) == set(german)
    for key in english:
        assert english[key].get("placeholders", {}) .keys() == german[key].get("placeholders", {}).keys(), key
        order = [p["content"] for p in english[key].get("placeholders", {}).values()]
        assert order == [p["content"] for p in german[key].get("placeholders", {}).values()], key


def used_message_keys() -> set[str]:
    keys = set(re.findall(r"__MSG_(\w+)__", (EXTENSION_DIR / "manifest.json").read_text(encoding="utf-8")))
    for path in EXTENSION_DIR.rglob("*.html"):
        keys |= set(re.findall(r'data-i18n(?:-[a-z-]+)?="(\w+)"', path.read_text(encoding="utf-8")))
    for path in EXTENSION_DIR.rglob("*.js"):
        text = path.read_text(encoding="utf-8")
        keys |= set(re.findall(r'\bmsg\(\s*"(\w+)"', text))
        keys |= set(re.findall(r'"((?:title|notice)[A-Z]\w+)"', text))
    return keys


@pytest.mark.parametrize("lang", LOCALES)
def test_every_key_the_code_uses_exists(lang):
    """No UI key used in the manifest, HTML or JS is missing from a locale."""
    missing = used_message_keys() - set(messages(lang))
    assert not missing


class TextCollector(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.text: list[str] = []

    def handle_data(self, data: str) -> None:
        if data.strip():
            self.text.append(data.strip())


@pytest.mark.parametrize(
    "page", ["popup/popup.html", "options/options.html", "firstrun/firstrun.html", "list/list.html"])
def test_html_carries_only_message_keys(page):
    """The pages hold no visible text of their own: every string comes from _locales."""
    collector = TextCollector()
    collector.feed((EXTENSION_DIR / page).read_text(encoding="utf-8"))
    assert collector.text == []


def test_no_html_is_ever_parsed_from_strings():
    """Text from the backend reaches the page only through textContent."""
    sinks = re.compile(r"innerHTML|outerHTML|insertAdjacentHTML|document\.write|\beval\(|new Function\(")
    for path in EXTENSION_DIR.rglob("*.js"):
        assert not sinks.search(path.read_text(encoding="utf-8")), path.name
