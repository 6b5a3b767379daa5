"""Notifications around a real backup: they tell, they never change the outcome."""

import socket

import yaml

from tests.conftest import need_programs


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]  # closed again when the with-block ends


def write_config(tmp_path, repository, notify):
    source = tmp_path / "source"
    source.mkdir(exist_ok=True)
    (source / "file").write_text("content\n")
    config = tmp_path / "config.yaml"
    config.write_text(yaml.safe_dump({"repository": str(repository),
                                      "sources": [{"name": "home", "path": str(source)}],
                                      "notify": notify}))
    return config


def test_failing_notifiers_do_not_change_the_exit_status(cli, tmp_path):
    need_programs("rsync")
    marker = tmp_path / "ran"
    config = write_config(tmp_path, tmp_path / "repo", {
        "command": f"echo \"$TRAVELSYNC_STATUS $TRAVELSYNC_EXIT_CODE\" > {marker}; exit 7",
        "on_success": True, "url": f"http://127.0.0.1:{closed_port()}/ping"})
    result = cli("--config", config, "--json", "backup", "--full")
    assert result.exit_code == 0, result.stderr
    assert result.json["snapshot"]
    assert marker.exists()  # the command did run (and its failure was only reported)
    assert "exit" in result.stderr and "127.0.0.1" in result.stderr


def test_failure_runs_the_command_with_the_outcome(cli, tmp_path):
    need_programs("rsync")
    marker = tmp_path / "ran"
    config = write_config(tmp_path, tmp_path / "repo", {"command": f"env | grep ^TRAVELSYNC_ > {marker}"})
    document = yaml.safe_load(config.read_text())
    document["rsync"] = {"program": "false", "retries": 0}  # rsync "fails" once the run has started
    config.write_text(yaml.safe_dump(document))
    result = cli("--config", config, "backup", "--full")
    assert result.exit_code == 1, result.stderr
    told = dict(line.split("=", 1) for line in marker.read_text().splitlines())
    assert told["TRAVELSYNC_STATUS"] == "failure" and told["TRAVELSYNC_EXIT_CODE"] == "1"


def test_a_locked_repository_is_not_notified(cli, tmp_path):
    """The run that holds the lock reports for itself; the one turned away stays silent."""
    need_programs("rsync")
    from travelsync.config import load_config
    from travelsync.repository import open_repository

    marker = tmp_path / "ran"
    config = write_config(tmp_path, tmp_path / "repo", {"command": f"touch {marker}"})
    assert cli("--config", config, "backup", "--full").exit_code == 0
    repository = open_repository(load_config(config), {})
    with repository.lock("test holder"):
        result = cli("--config", config, "backup", "--full")
    assert result.exit_code == 75, result.stderr
    assert not marker.exists()
