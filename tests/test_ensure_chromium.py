"""`make test` gets Debian's Chromium itself (bin/ensure-chromium), or stops before any test runs.

The script runs against stand-ins for `id`, `apt-get` and `sudo` on PATH, with CHROMIUM_PATH in a
temporary folder, so each branch is played without installing anything.
"""

import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
SCRIPT = REPO / "bin" / "ensure-chromium"
APT_INSTALL = "apt-get install -y -qq chromium"


def _stub(folder: Path, name: str, body: str) -> None:
    path = folder / name
    path.write_text(f'#!/bin/sh\necho "{name} $*" >> "$CALLS"\n{body}\n')
    path.chmod(0o755)


@pytest.fixture
def machine(tmp_path):
    """A PATH of stand-ins: apt-get "installs" Chromium by creating CHROMIUM_PATH."""
    stubs = tmp_path / "bin"
    stubs.mkdir()
    for tool in ("env", "true"):  # real tools the script (and the stand-in sudo) runs
        (stubs / tool).symlink_to(f"/usr/bin/{tool}")
    _stub(stubs, "apt-get", 'case "$*" in *install*) : > "$CHROMIUM_PATH"; /bin/chmod +x "$CHROMIUM_PATH";; esac')
    return {
        "stubs": stubs,
        "env": {"PATH": str(stubs), "CHROMIUM_PATH": str(tmp_path / "chromium"), "CALLS": str(tmp_path / "calls")},
    }


def _as_user(machine, uid: int, *, sudo: str | None = None) -> None:
    _stub(machine["stubs"], "id", f"echo {uid}")
    if sudo == "passwordless":
        _stub(machine["stubs"], "sudo", '[ "$1" = -n ] && shift; exec "$@"')
    elif sudo == "password":
        _stub(machine["stubs"], "sudo", 'echo "sudo: a password is required" >&2; exit 1')


def _run(machine) -> subprocess.CompletedProcess:
    return subprocess.run([str(SCRIPT)], env=machine["env"], capture_output=True, text=True, timeout=30)


def _calls(machine) -> list[str]:
    calls = Path(machine["env"]["CALLS"])
    return calls.read_text().splitlines() if calls.exists() else []


def test_root_installs_chromium_with_apt_get_and_says_so_in_one_line(machine):
    _as_user(machine, 0)
    done = _run(machine)
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == [
        f"make test: Chromium is missing at {machine['env']['CHROMIUM_PATH']}; "
        "installing Debian's chromium with apt-get"
    ]
    assert [c for c in _calls(machine) if c.startswith("apt-get")] == ["apt-get update -qq", APT_INSTALL]
    assert Path(machine["env"]["CHROMIUM_PATH"]).exists()


def test_passwordless_sudo_installs_through_sudo_n(machine):
    _as_user(machine, 1000, sudo="passwordless")
    done = _run(machine)
    assert done.returncode == 0, done.stderr
    assert len(done.stdout.splitlines()) == 1 and "with sudo -n apt-get" in done.stdout
    calls = _calls(machine)
    assert "sudo -n apt-get update -qq" in calls
    assert "sudo -n env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium" in calls
    assert calls.index("apt-get update -qq") < calls.index(APT_INSTALL)
    assert Path(machine["env"]["CHROMIUM_PATH"]).exists()


@pytest.mark.parametrize("sudo", ["password", None], ids=["sudo-asks-a-password", "no-sudo"])
def test_without_root_it_stops_with_one_line_naming_the_command(machine, sudo):
    _as_user(machine, 1000, sudo=sudo)
    done = _run(machine)
    assert done.returncode == 1
    assert done.stdout == ""
    assert len(done.stderr.splitlines()) == 1
    assert "`sudo apt-get update && sudo apt-get install -y chromium`" in done.stderr
    assert not [c for c in _calls(machine) if c.startswith("apt-get")]


def test_present_chromium_is_left_alone(machine):
    _as_user(machine, 0)
    chromium = Path(machine["env"]["CHROMIUM_PATH"])
    chromium.write_text("")
    chromium.chmod(0o755)
    done = _run(machine)
    assert (done.returncode, done.stdout, done.stderr) == (0, "", "")
    assert _calls(machine) == []


def test_make_test_gets_chromium_before_pytest_runs():
    planned = subprocess.run(
        ["make", "--dry-run", "test"], cwd=REPO, capture_output=True, text=True, check=True
    ).stdout.splitlines()
    step = next(i for i, line in enumerate(planned) if "bin/ensure-chromium" in line)
    tests = next(i for i, line in enumerate(planned) if "-m pytest" in line)
    assert step < tests
