"""`caseflag serve` started as root (as `make test` runs here): no worker of gunicorn's or nginx's
runs as root, and the service still answers, reloads its data, keeps the last good list and
stops cleanly. Started as another user, the workers run as that user: nothing changes."""

import json
import os
import pwd
import shutil
import signal
import subprocess
from pathlib import Path

from conftest import DATA_DIR
from test_serving import Served, free_port, serve_folder, wait_for
from unprivileged import readable_by_all, serve_command


def identity(pid: int) -> tuple[set[int], set[int], set[int]]:
    """(user ids, group ids, supplementary groups) of a process, from /proc: real, effective, saved, fs."""
    fields = dict(line.split(":", 1) for line in Path(f"/proc/{pid}/status").read_text().splitlines() if ":" in line)
    return ({int(n) for n in fields["Uid"].split()}, {int(n) for n in fields["Gid"].split()},
            {int(n) for n in fields["Groups"].split()})


def workers_of(served) -> list[int]:
    """gunicorn's workers and nginx's workers of one `caseflag serve`."""
    nginx = subprocess.run(["pgrep", "-P", str(served.process.pid), "-x", "nginx"],
                           capture_output=True, text=True, check=True).stdout.split()
    nginx_workers = subprocess.run(["pgrep", "-P", nginx[0]], capture_output=True, text=True,
                                   check=True).stdout.split()
    return served.workers() + [int(pid) for pid in nginx_workers]


def test_served_as_root_no_worker_runs_as_root(dns, tmp_path):
    data = tmp_path / "data"
    shutil.copytree(DATA_DIR, data)
    readable_by_all(data)
    account = pwd.getpwnam("nobody") if os.geteuid() == 0 else pwd.getpwuid(os.geteuid())
    served = Served(dns, workers=2, CASEFLAG_DATA_DIR=str(data), CASEFLAG_RELOAD_INTERVAL="0.2",
                    CASEFLAG_DNS_ENABLED="false", CASEFLAG_RATE_LIMIT="")
    try:
        folder = serve_folder(served)
        workers = workers_of(served)
        assert len(workers) == 3
        unprivileged = ({account.pw_uid}, {account.pw_gid}, {account.pw_gid})
        # A worker drops its rights just after it is forked, before it reads any request: wait for that.
        wait_for(lambda: [identity(pid) for pid in workers], lambda found: found == [unprivileged] * 3)
        kept = folder / "state" / "last-good.pickle"
        assert kept.stat().st_uid == account.pw_uid and (kept.parent.stat().st_mode & 0o777) == 0o700
        version = json.loads(served.get("/healthz")[1])["dataset_version"]
        # A change to the data is read by the workers as that user: served without a restart.
        source = data / "sources" / "taz-2012-kim-dotcom-mega-plans.toml"
        source.write_text(source.read_text(encoding="utf-8") + "\n", encoding="utf-8")
        wait_for(lambda: [json.loads(served.get("/healthz")[1])["dataset_version"] for _ in range(6)],
                 lambda versions: set(versions) == {versions[0]} and versions[0] != version)
        version = json.loads(served.get("/healthz")[1])["dataset_version"]
        # A broken file, then every worker killed: the new ones (that user too) serve the list kept.
        (data / "entities" / "zz-broken.toml").write_text('id = "zz-broken"\n', encoding="utf-8")
        before = served.workers()
        for pid in before:
            os.kill(pid, signal.SIGKILL)
        after = wait_for(served.workers, lambda pids: len(pids) == 2 and not set(pids) & set(before))
        wait_for(lambda: [identity(pid) for pid in after], lambda found: found == [unprivileged] * 2)
        health = json.loads(served.get("/healthz")[1])
        assert health["status"] == "degraded" and health["dataset_version"] == version, health
        status, body = served.get("/api/v1/check?domain=thepiratebay.org")
        assert status == 200 and json.loads(body)["verdict"]["level"] == "target"
    finally:
        served.stop()
    assert served.process.returncode == 0, served.log()
    assert not folder.exists()
    assert not [pid for pid in workers if Path(f"/proc/{pid}").exists()]


def test_a_user_that_cannot_read_the_data_is_a_clear_error(dns, tmp_path):
    """As root, serve checks before it starts that its workers' user can read the data, and names
    what is missing; a user that does not exist is named too. As another user nothing is checked."""
    data = tmp_path / "data"
    shutil.copytree(DATA_DIR, data)
    data.chmod(0o700)  # pytest's folders above are closed to others too
    command, needs = serve_command()
    base = {**os.environ, **needs, "CASEFLAG_DNS_ENABLED": "false", "CASEFLAG_PORT": str(free_port())}
    if os.geteuid() != 0:
        served = Served(dns, workers=1, CASEFLAG_DATA_DIR=str(data))
        served.stop()
        return
    for env, words in (({"CASEFLAG_DATA_DIR": str(data), "CASEFLAG_USER": "nobody"},
                        f"who cannot read every file of the data folder {data}"),
                       ({"CASEFLAG_USER": "no-such-user-here"}, "CASEFLAG_USER='no-such-user-here'")):
        done = subprocess.run([*command, "serve", "--workers", "1"], env={**base, **env}, capture_output=True,
                              text=True, timeout=60)
        assert done.returncode == 2 and words in done.stderr and "Traceback" not in done.stderr, done.stderr
        assert done.stderr.startswith("caseflag: error: ")


def test_by_default_a_nobody_who_cannot_run_it_leaves_gunicorns_workers_root_with_a_warning(dns, tmp_path):
    """CASEFLAG_USER unset, and nobody cannot read the data (as where the checkout or Python lives in
    root's home, as `make run` may be run): serve still serves, says why its workers keep root's
    rights, and nginx's workers (which need neither) still run as nobody."""
    if os.geteuid() != 0:
        return
    data = tmp_path / "data"
    shutil.copytree(DATA_DIR, data)
    data.chmod(0o700)
    nobody = pwd.getpwnam("nobody")
    served = Served(dns, workers=1, CASEFLAG_DATA_DIR=str(data), CASEFLAG_DNS_ENABLED="false")
    try:
        status, body = served.get("/api/v1/check?domain=thepiratebay.org")
        assert status == 200 and json.loads(body)["verdict"]["level"] == "target"
        assert (f"caseflag: warning: gunicorn's workers keep root's rights: nobody cannot read every file of "
                f"the data folder {data}; name a user who can in CASEFLAG_USER") in served.log()
        (gunicorn_worker,), nginx_workers = served.workers(), workers_of(served)[1:]
        assert identity(gunicorn_worker)[0] == {0}
        assert nginx_workers and all(identity(pid)[0] == {nobody.pw_uid} for pid in nginx_workers)
    finally:
        served.stop()
    assert served.process.returncode == 0, served.log()
