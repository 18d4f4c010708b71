"""The `caseflag` command run as a real subprocess: check, serve, data export."""

import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from unprivileged import serve_command

CASEFLAG = str(Path(sys.executable).with_name("caseflag"))


def run(*args, env=None, timeout=60):
    return subprocess.run([CASEFLAG, *args], capture_output=True, text=True, timeout=timeout,
                          env={**os.environ, **(env or {})})


def dns_env(dns):
    return {"CASEFLAG_DNS_NAMESERVERS": dns.nameserver, "CASEFLAG_DNS_BUDGET": "1"}


def test_check_prints_a_readable_summary(dns):
    result = run("check", "www.thepiratebay.org", env=dns_env(dns))
    assert result.returncode == 0, result.stderr
    assert "TARGET" in result.stdout
    assert "The Pirate Bay" in result.stdout
    assert "Served by Cloudflare" in result.stdout


def test_check_json_one_object_per_line_offline(dns):
    """--offline asks no DNS; --json prints one object per input, errors included."""
    result = run("check", "--offline", "--json", "thepiratebay.org", "localhost", env=dns_env(dns))
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    assert [line["query"] for line in lines] == ["thepiratebay.org", "localhost"]
    assert lines[0]["verdict"]["level"] == "target"
    assert lines[0]["infrastructure"]["status"] == "skipped"
    assert lines[1]["error"]["code"] == "not_public"
    assert result.returncode == 1
    assert dns.queries == []


def test_check_json_is_utf8_whatever_the_consoles_encoding(dns):
    """--json writes JSON's own encoding, UTF-8, even to a console that cannot print ü (no traceback)."""
    result = subprocess.run([CASEFLAG, "check", "--offline", "--json", "xn--mnchen-3ya.de"], capture_output=True,
                            timeout=60, env={**os.environ, **dns_env(dns), "PYTHONIOENCODING": "ascii"})
    assert result.returncode == 0, result.stderr.decode()
    assert json.loads(result.stdout.decode("utf-8"))["hostname_unicode"] == "münchen.de"


def test_check_refusal_is_a_message_not_a_traceback(dns):
    result = run("check", "co.uk", env=dns_env(dns))
    assert result.returncode == 1
    assert "public suffix" in result.stderr and "Traceback" not in result.stderr


@pytest.mark.parametrize("command", [["check", "boerse.to"], ["batch", "-"]])
@pytest.mark.parametrize("lang", ["!!!", "x" * 50, "de_DE"])
def test_a_lang_that_is_no_language_tag_is_refused_as_the_api_refuses_it(command, lang):
    """--lang keeps the rule of the API's `lang`: a language tag of at most 35 characters."""
    done = run(*command, "--offline", "--lang", lang)
    assert done.returncode == 2 and "--lang" in done.stderr and "language tag" in done.stderr
    assert "Traceback" not in done.stderr and done.stdout == ""
    assert run("check", "boerse.to", "--offline", "--lang", "pt-BR").returncode == 0


def test_check_refuses_special_use_names_without_asking_dns(dns):
    result = run("check", "--json", "shop.onion", "printer.home.arpa", "thepiratebay.org:99999", env=dns_env(dns))
    codes = [json.loads(line)["error"]["code"] for line in result.stdout.splitlines()]
    assert codes == ["not_public", "not_public", "invalid_domain"] and result.returncode == 1
    assert dns.queries == []


def test_broken_dataset_is_a_clear_error(tmp_path):
    result = run("check", "--offline", "thepiratebay.org", env={"CASEFLAG_DATA_DIR": str(tmp_path / "missing")})
    assert result.returncode == 2
    assert "does not exist" in result.stderr and "Traceback" not in result.stderr


@pytest.mark.parametrize("fmt", ["json", "jsonl", "csv"])
def test_export_formats(fmt, tmp_path):
    out = tmp_path / f"export.{fmt}"
    result = run("data", "export", "--format", fmt, "--output", str(out))
    assert result.returncode == 0, result.stderr
    text = out.read_text(encoding="utf-8")
    assert "thepiratebay.org" in text
    if fmt == "json":
        assert json.loads(text)["entities"]
    elif fmt == "jsonl":
        assert all(json.loads(line)["record_kind"] for line in text.splitlines())
    else:
        assert text.splitlines()[0].startswith("kind,id,name")


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for(url, process, timeout=30):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"server exited: {process.stderr.read()}")
        try:
            with urllib.request.urlopen(url, timeout=1) as response:
                return json.load(response)
        except OSError:
            time.sleep(0.2)
    raise AssertionError(f"{url} did not answer in {timeout}s")


@pytest.mark.parametrize("extra", [[], ["--dev"]], ids=["gunicorn", "dev"])
def test_serve_answers_over_real_http(dns, extra):
    """`caseflag serve` (what make run starts) answers checks over HTTP."""
    port = free_port()
    command, needs = serve_command()  # as root, a Python its workers' user (nobody) can run
    process = subprocess.Popen([*command, "serve", "--port", str(port), "--workers", "1", *extra],
                               env={**os.environ, **needs, **dns_env(dns)}, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True)
    try:
        assert wait_for(f"http://127.0.0.1:{port}/healthz", process)["status"] == "ok"
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/v1/check?domain=www.thepiratebay.org") as response:
            body = json.load(response)
        assert body["verdict"]["level"] == "target"
        assert body["infrastructure"]["status"] == "resolved"
    finally:
        process.terminate()
        stdout, stderr = process.communicate(timeout=20)
    # the access log leaves out the query string and the client: no host name in any log line
    logs = stdout + stderr
    assert "GET /api/v1/check" in logs
    assert "thepiratebay" not in logs and "127.0.0.1 -" not in logs


def test_check_summary_names_the_related_level_and_its_cases(dns):
    result = run("check", "--offline", "mega.co.nz", env=dns_env(dns))
    assert result.returncode == 0, result.stderr
    assert "verdict: RELATED  [~]" in result.stdout
    assert "predecessor: Megaupload (role: defendant, 1 case)" in result.stdout
    assert "United States v. Kim Dotcom" in result.stdout


def test_check_into_a_closed_pipe_ends_quietly():
    """`caseflag check … | head -c 1`: no BrokenPipeError traceback, exit status 1."""
    names = ["thepiratebay.org", "mega.nz", "boerse.to"] * 400
    check = subprocess.Popen([CASEFLAG, "check", "--offline", "--json", *names], stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE)
    check.stdout.read(1)
    check.stdout.close()
    with check.stderr:
        stderr = check.stderr.read().decode()
    assert check.wait(timeout=60) == 1
    assert "Traceback" not in stderr and "BrokenPipeError" not in stderr
