"""Organizations from a YAML or JSON file."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from monitor.fleet.sources import FileSource, SourceError

TOKEN = "EAAGcanaryFileToken5e6f"
ROWS = [
    {"id": "org_1", "name": "Acme", "whatsapp_access_token": TOKEN},
    {"id": "org_2", "stripe_customer_id": "cus_NffrFeUfNV2Hib"},
]


async def failure(path: Path) -> str:
    with pytest.raises(SourceError) as raised:
        await FileSource(path).load()
    # No chained exception: what an operator sees is the one sentence.
    assert raised.value.__cause__ is None
    assert raised.value.__context__ is None or raised.value.__suppress_context__
    return str(raised.value)


@pytest.mark.parametrize(
    ("name", "text"),
    [
        ("orgs.yaml", "- id: org_1\n  name: Acme\n  whatsapp_access_token: " + TOKEN + "\n"
         "- id: org_2\n  stripe_customer_id: cus_NffrFeUfNV2Hib\n"),
        ("orgs.yml", "organizations:\n"
         "  - {id: org_1, name: Acme, whatsapp_access_token: " + TOKEN + "}\n"
         "  - {id: org_2, stripe_customer_id: cus_NffrFeUfNV2Hib}\n"),
        ("orgs.json", json.dumps(ROWS)),
        ("orgs.json", json.dumps({"organizations": ROWS, "version": 2})),
        ("organizations", json.dumps(ROWS)),  # no suffix: read as YAML, which JSON also is
    ],
    ids=["yaml-list", "yaml-mapping", "json-list", "json-mapping", "no-suffix"],
)  # fmt: skip
async def test_file_source__list_or_mapping(tmp_path: Path, name: str, text: str) -> None:
    """A list of rows, or a mapping with an `organizations` list, in YAML or JSON."""
    path = tmp_path / name
    path.write_text(text)

    assert await FileSource(path).load() == ROWS


async def test_file_source__explicitly_empty(tmp_path: Path) -> None:
    """A file that says there are no organizations loads as none."""
    path = tmp_path / "orgs.yaml"
    path.write_text("organizations: []\n")

    assert await FileSource(path).load() == []


async def test_file_source__missing(tmp_path: Path) -> None:
    """A file that is not there is a plain sentence naming it."""
    path = tmp_path / "nope.yaml"

    message = await failure(path)

    assert message == f"cannot read organizations file {path}: No such file or directory"


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads files whatever their mode")
async def test_file_source__unreadable(tmp_path: Path) -> None:
    """A file the daemon may not read says so."""
    path = tmp_path / "orgs.yaml"
    path.write_text("[]")
    path.chmod(0)

    assert await failure(path) == f"cannot read organizations file {path}: Permission denied"


async def test_file_source__a_directory(tmp_path: Path) -> None:
    """A directory where a file should be is a plain error."""
    assert (await failure(tmp_path)).startswith(f"cannot read organizations file {tmp_path}: ")


@pytest.mark.parametrize(
    ("name", "text", "expected"),
    [
        (
            "orgs.yaml",
            f"- id: org_1\n  whatsapp_access_token: [{TOKEN}\n",
            "is not valid YAML (line 3",
        ),
        ("orgs.json", f'[{{"id": "org_1", "whatsapp_access_token": "{TOKEN}"', "is not valid JSON"),
        (
            "orgs.json",
            f'{{"id": "org_1", "token": {TOKEN}}}',
            "is not valid JSON (line 1, column 26)",
        ),
    ],
    ids=["yaml", "json-truncated", "json-bare-word"],
)
async def test_file_source__unparsable_without_echo(
    tmp_path: Path, name: str, text: str, expected: str
) -> None:
    """A broken file says where it broke, and never repeats what it holds (a token, say)."""
    path = tmp_path / name
    path.write_text(text)

    message = await failure(path)

    assert expected in message
    assert TOKEN not in message
    assert TOKEN[:8] not in message


async def test_file_source__not_utf8(tmp_path: Path) -> None:
    """A file that is not UTF-8 text says so."""
    path = tmp_path / "orgs.yaml"
    path.write_bytes(b"- id: org_\xff\n")

    assert await failure(path) == f"organizations file {path} is not UTF-8 text"


@pytest.mark.parametrize(
    "text",
    ["", "# nothing yet\n", "just a string", "organizations: org_1\n", "{version: 2}"],
    ids=["empty", "comment-only", "scalar", "organizations-not-a-list", "mapping-without-list"],
)
async def test_file_source__wrong_shape(tmp_path: Path, text: str) -> None:
    """A file that is not a list of rows is refused, not read as "no organizations"."""
    path = tmp_path / "orgs.yaml"
    path.write_text(text)

    message = await failure(path)

    assert message == (
        f"organizations file {path} must hold a list of organizations,"
        " or a mapping with an 'organizations' list"
    )


async def test_file_source__rows_are_passed_on_raw(tmp_path: Path) -> None:
    """Rows are handed on as written (validation is the loader's); YAML types included."""
    path = tmp_path / "orgs.yaml"
    path.write_text("- id: 0042\n- not a row\n- {id: ok, whatsapp_business_account_id: 104996}\n")

    rows = await FileSource(path).load()

    assert rows == [{"id": 34}, "not a row", {"id": "ok", "whatsapp_business_account_id": 104996}]
