"""`caseflag serve` started as root, as `make test` runs here: its workers then run as nobody
(CASEFLAG_USER), who must be able to run this Python and read the data served.

serve refuses to start otherwise (tests/test_serving_root.py checks that). Where this Python lives
in a folder closed to nobody (pyenv in root's home, as on the development machine), the tests
serve from a twin made once: the interpreter and its standard library hard-linked into a
temporary folder, and a venv on it that imports this checkout's packages. Nothing is installed.
"""

from __future__ import annotations

import atexit
import functools
import os
import pwd
import shutil
import subprocess
import sys
import sysconfig
import tempfile
from pathlib import Path

CASEFLAG = str(Path(sys.executable).with_name("caseflag"))
VERSION = f"python{sys.version_info[0]}.{sys.version_info[1]}"


def runs_as_nobody(python: str, env: dict | None = None) -> bool:
    """Whether nobody can run `python` and import caseflag's web app with it."""
    account = pwd.getpwnam("nobody")
    try:
        done = subprocess.run([python, "-c", "import caseflag.web.app"], user=account.pw_uid, group=account.pw_gid,
                              extra_groups=[], cwd="/", capture_output=True, timeout=60,
                              env={**os.environ, **(env or {})})
    except OSError:
        return False
    return done.returncode == 0


@functools.cache
def serve_command() -> tuple[tuple[str, ...], dict]:
    """(the command that runs `caseflag`, environment variables it needs) for `caseflag serve`."""
    if os.geteuid() != 0 or runs_as_nobody(sys.executable):
        return (CASEFLAG,), {}
    return readable_twin()


def _link(source, target) -> None:
    try:
        os.link(source, target)
    except OSError:  # another file system
        shutil.copy2(source, target)


def readable_twin() -> tuple[tuple[str, ...], dict]:
    folder = Path(tempfile.mkdtemp(prefix="caseflag-test-python-"))
    atexit.register(shutil.rmtree, folder, True)
    folder.chmod(0o755)
    base = Path(sys.base_prefix)
    (folder / "bin").mkdir()
    (folder / "lib").mkdir()
    _link(os.path.realpath(sys.executable), folder / "bin" / VERSION)
    for library in (base / "lib").glob("libpython*.so*"):
        _link(library, folder / "lib" / library.name)
    stdlib = base / "lib" / VERSION
    shutil.copytree(stdlib, folder / "lib" / VERSION, symlinks=True, copy_function=_link,
                    ignore=lambda where, names: ["site-packages", "test"] if Path(where) == stdlib else [])
    env = {"LD_LIBRARY_PATH": str(folder / "lib")}  # the interpreter's own run path is in the closed folder
    venv = folder / "venv"
    subprocess.run([str(folder / "bin" / VERSION), "-m", "venv", "--without-pip", str(venv)], check=True,
                   env={**os.environ, **env})
    packages = sysconfig.get_paths()["purelib"]  # this checkout's venv: caseflag and its dependencies
    (venv / "lib" / VERSION / "site-packages" / "checkout.pth").write_text(
        f"import site; site.addsitedir({packages!r})\n", encoding="utf-8")
    script = venv / "bin" / "caseflag"
    script.write_text(f"#!{venv / 'bin' / 'python'}\nimport sys\nfrom caseflag.commands.cli import main\n"
                      "sys.exit(main())\n", encoding="utf-8")
    script.chmod(0o755)
    assert runs_as_nobody(str(venv / "bin" / "python"), env), "the twin of this Python does not run as nobody"
    return (str(script),), env


def readable_by_all(folder: Path) -> None:
    """Let serve's workers (nobody) read `folder` (pytest makes its temporary folders 0700)."""
    for path in (folder, *folder.parents):
        if path == Path(path.anchor):
            break
        if path.stat().st_mode & 0o005 != 0o005:
            path.chmod(path.stat().st_mode | 0o005)
