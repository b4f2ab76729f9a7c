"""A clone works anywhere, with nothing beside it: no tracked file names a path outside the repository.

The vendor contracts the code and tests follow live in contracts/; a reference to the folder they
were once read from (the shared folder beside the checkout), or to one machine's workspace,
temporary or home folders, works only on that machine.
"""

import re
import subprocess
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
OUTSIDE = re.compile(
    r"""
      \.\./shared\b                               # the sibling folder beside the checkout
    | shared/reference\b                          # ... however it is reached
    | (?<![\w.~-])/(?:work|root|home|Users)/      # a workspace or home folder of one machine
    | (?<![\w.~-])/tmp/\w                         # a temporary folder of one run (tests use tmp_path)
    """,
    re.VERBOSE,
)
# This file names the patterns it looks for.
SELF = Path(__file__).resolve().relative_to(REPO).as_posix()


def tracked_files() -> list[str]:
    listed = subprocess.run(["git", "ls-files", "-z"], cwd=REPO, capture_output=True, check=True, text=True)
    return [name for name in listed.stdout.split("\0") if name and name != SELF]


def outside_paths(name: str) -> list[str]:
    path = REPO / name
    if not path.is_file():  # deleted in the work tree but still tracked
        return []
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError:  # screenshots and other binaries name no paths
        return []
    return [
        f"{name}:{number}: {line.strip()[:160]}"
        for number, line in enumerate(text.splitlines(), start=1)
        if OUTSIDE.search(line)
    ]


def test_no_tracked_file_names_a_path_outside_the_repository():
    found = [hit for name in tracked_files() for hit in outside_paths(name)]
    assert found == [], "paths outside the repository (copy what is needed into it):\n" + "\n".join(found)


def test_the_pattern_catches_the_paths_a_clone_would_not_have():
    up, work, tmp = "..", "/work", "/tmp"  # spelled in pieces, so that no line of this file names such a path
    for outside in (
        f"{up}/shared/reference/multimail-openapi.json",
        f'Path("{work}/shared/reference/intercom-notes.md")',
        f"state under {tmp}/rq-h1-var",
        "see /home/dana/notes.md",
        "/root/.cache/x",
    ):
        assert OUTSIDE.search(outside), outside
    for inside in ("contracts/multimail-openapi.json", "/usr/bin/chromium", "var/tmp/x", f"https://example.com{work}/"):
        assert not OUTSIDE.search(inside), inside
