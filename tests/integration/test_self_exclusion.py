"""A repository (or travelsync's state folder) inside a source is never backed up into itself
(issue 15, finding 11): real rsync, a repository inside the source, two fulls in a row."""

import os
from pathlib import Path

import pytest
import yaml

from tests.conftest import need_programs

pytestmark = pytest.mark.timeout(120)


def write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


@pytest.mark.parametrize("folder", ["backups", "we[ir]d *?\\ name"], ids=["plain", "wildcard-characters"])
def test_repository_inside_the_source_holds_no_copy_of_itself(cli, tmp_path, folder):
    need_programs("rsync")
    source = tmp_path / "home"
    repository = source / folder / "repo"
    state = source / ".local" / "state"
    write(source / "notes.txt", "mine")
    write(source / folder / "sibling.txt", "kept: only the repository itself is left out")
    write(source / "docs" / folder / "repo" / "deeper.txt", "kept: same name, elsewhere (the rule is anchored)")
    config = tmp_path / "config.yaml"
    config.write_text(yaml.safe_dump({"repository": str(repository), "sources": [{"name": "home", "path": str(source)}]}))
    env = {"XDG_STATE_HOME": str(state)}
    write(state / "travelsync" / "trip.json.example", "state")

    said = []
    for when in ("2026-11-22T02:30:00+00:00", "2026-11-29T02:30:00+00:00"):
        done = cli("--config", config, "--json", "backup", "--full", env={**env, "TRAVELSYNC_NOW": when})
        assert done.exit_code == 0, done.stderr
        said.append(done.stderr)
    snapshots = sorted((repository / "snapshots").iterdir())
    assert len(snapshots) == 2
    for snapshot in snapshots:
        data = snapshot / "data" / "home"
        assert (data / "notes.txt").read_text() == "mine"
        assert (data / folder / "sibling.txt").exists()
        assert (data / "docs" / folder / "repo" / "deeper.txt").exists()
        assert not (data / folder / "repo").exists(), "the repository was copied into itself"
        assert not (data / ".local" / "state" / "travelsync").exists(), "the state folder was backed up"
        assert (data / ".local" / "state").is_dir()
    assert all("left out" in text and str(repository) in text for text in said), said
    check = cli("--config", config, "--json", "config", "check", env=env)
    assert check.exit_code == 0, check.stderr
    [home] = check.json["sources"]
    assert {entry["path"] for entry in home["left_out"]} == {str(repository), str(state / "travelsync")}
    assert "the repository" in check.stderr and str(repository) in check.stderr


def test_source_inside_the_repository_is_refused(cli, tmp_path):
    repository = tmp_path / "repo"
    (repository / "snapshots").mkdir(parents=True)
    config = tmp_path / "config.yaml"
    config.write_text(f"repository: {repository}\nsources:\n  - name: home\n    path: {tmp_path}/other\n"
                      f"  - name: snaps\n    path: {repository}/snapshots\n  - name: same\n    path: {repository}\n")
    result = cli("--config", config, "config", "check")
    assert result.exit_code == 2
    lines = result.stderr.splitlines()
    assert any(line.startswith(f"{config}:6:11: sources[1].path:") and "is inside the repository" in line for line in lines)
    assert any(line.startswith(f"{config}:8:11: sources[2].path:") for line in lines)
    assert "sources[0]" not in result.stderr


def test_source_reaching_the_repository_through_a_symlink_is_refused(cli, tmp_path):
    repository = tmp_path / "repo"
    repository.mkdir()
    os.symlink(repository, tmp_path / "link")
    config = tmp_path / "config.yaml"
    config.write_text(f"repository: {repository}\nsources:\n  - name: home\n    path: {tmp_path}/link\n")
    result = cli("--config", config, "config", "check")
    assert result.exit_code == 2 and "is the repository" in result.stderr
