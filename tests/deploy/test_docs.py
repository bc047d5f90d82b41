"""The README's instructions: everything they tell a reader to use exists."""

from __future__ import annotations

import re

from tests.deploy.tooling import REPO_ROOT

DOC = REPO_ROOT / "README.md"
# Repository paths as the instructions write them: in links and in commands.
LINK = re.compile(r"\]\((?!https?:)([^)#]+)\)")
COMMAND_PATH = re.compile(r"(?<![\w/.])((?:deploy|grafana|scripts)/[\w./*-]*[\w*])")
# Files the instructions have the reader create.
CREATED_BY_THE_READER = {"deploy/compose/.env"}


def test_readme__names_only_files_that_exist():
    """Every file, folder and glob the instructions mention is in the repository."""
    text = DOC.read_text(encoding="utf-8")
    mentioned = (set(LINK.findall(text)) | set(COMMAND_PATH.findall(text))) - CREATED_BY_THE_READER
    assert mentioned, "no repository path found in the instructions"
    missing = sorted(path for path in mentioned if not any(REPO_ROOT.glob(path.rstrip("/"))))
    assert not missing, f"README.md mentions missing paths: {missing}"
