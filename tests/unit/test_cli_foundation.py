"""The CLI skeleton: init, config check, exit codes, errors, start-up imports."""

import re
import signal
import subprocess
import sys

from travelsync.exitcodes import ExitStatus


def test_init_then_check(cli, tmp_path):
    target = tmp_path / "ts.yaml"
    assert cli("init", "--path", target).exit_code == 0
    assert target.stat().st_mode & 0o777 == 0o600
    result = cli("--config", target, "config", "check")
    assert result.exit_code == 0, result.stderr
    assert "repository: /srv/backup/travelsync" in result.stdout
    again = cli("init", "--path", target)
    assert again.exit_code == ExitStatus.USAGE and "--force" in again.stderr


def test_config_check_json_masks_secrets(cli, tmp_path):
    target = tmp_path / "c.yaml"
    target.write_text("repository: /r\nsources: [{name: h, path: /h}]\n"
                      "notify: {url: 'https://hc-ping.com/1234-secret-uuid'}\n")
    result = cli("--json", "--config", target, "config", "check")
    assert result.exit_code == 0
    data = result.json
    assert data["repository"] == "/r" and data["sources"][0]["name"] == "h"
    assert "secret" not in result.stdout and data["notify"]["url"] == "https://hc-ping.com/****"


def test_invalid_config_exit_2_every_problem_on_stderr(cli, tmp_path):
    target = tmp_path / "bad.yaml"
    target.write_text("sources:\n  - name: h\n    path: rel\nretension: 3\n")
    result = cli("--config", target, "config", "check")
    assert result.exit_code == ExitStatus.USAGE
    assert f"{target}:1:1: repository: missing required key" in result.stderr
    assert f"{target}:3:11: sources[0].path" in result.stderr
    assert f"{target}:4:1: retension" in result.stderr and "did you mean 'retention'" in result.stderr
    assert result.stdout == ""


def test_missing_config_file_is_a_usage_error(cli, tmp_path):
    result = cli("--config", tmp_path / "nope.yaml", "config", "check")
    assert result.exit_code == ExitStatus.USAGE
    assert "nope.yaml: no configuration file here" in result.stderr


def test_config_found_through_environment(cli, tmp_path, monkeypatch):
    target = tmp_path / "env.yaml"
    target.write_text("repository: /r\nsources: [{name: h, path: /h}]\n")
    monkeypatch.setenv("TRAVELSYNC_CONFIG", str(target))
    assert cli("config", "check").exit_code == 0
    monkeypatch.delenv("TRAVELSYNC_CONFIG")
    xdg = tmp_path / "xdg"
    (xdg / "travelsync").mkdir(parents=True)
    (xdg / "travelsync" / "config.yaml").write_text(target.read_text())
    monkeypatch.setenv("XDG_CONFIG_HOME", str(xdg))
    assert cli("config", "check").exit_code == 0


def test_help_lists_every_command_and_exit_codes(cli):
    from travelsync.cli import COMMANDS

    result = cli("--help")
    assert result.exit_code == 0
    for name in COMMANDS:
        assert f"  {name} " in result.stdout
    for code in ExitStatus:
        assert f"  {int(code):<3} " in result.stdout


def test_every_command_has_help(cli):
    from travelsync.cli import COMMANDS

    for name in COMMANDS:
        result = cli(name, "--help")
        assert result.exit_code == 0, name
        assert "Usage:" in result.stdout


def test_internal_error_is_one_line_with_hint(cli, monkeypatch, tmp_path):
    import travelsync.config.load as load

    def boom(*_args, **_kwargs):
        raise RuntimeError("kaboom")

    monkeypatch.setattr(load, "load_config", boom)
    monkeypatch.setattr("travelsync.config.load_config", boom)
    result = cli("--config", tmp_path / "x", "config", "check")
    assert result.exit_code == ExitStatus.FAILURE
    assert result.stderr.strip().splitlines() == ["travelsync: internal error: RuntimeError: kaboom",
                                                  "hint: rerun with -v for the traceback"]


def test_startup_does_not_import_heavy_modules(tmp_path):
    """--help and config check must not import sh, APScheduler or dnspython."""
    config = tmp_path / "c.yaml"
    config.write_text("repository: /r\nsources: [{name: h, path: /h}]\n")
    for args in (["--help"], ["--config", str(config), "config", "check"]):
        done = subprocess.run([sys.executable, "-X", "importtime", "-m", "travelsync", *args],
                              capture_output=True, text=True)
        assert done.returncode == 0, done.stderr
        imported = {line.split("|")[-1].strip().split(".")[0] for line in done.stderr.splitlines()
                    if line.startswith("import time:")}
        assert "click" in imported  # the measurement itself works
        assert not imported & {"sh", "apscheduler", "dns"}, imported & {"sh", "apscheduler", "dns"}


def test_version(cli):
    from travelsync import __version__

    result = cli("--version")
    assert result.exit_code == 0 and __version__ in result.stdout


def _leaf_commands(command, path=()):
    """(path, command) of every command that runs, sub-commands of groups included."""
    from travelsync.cli import COMMANDS, cli as group

    if command is None:
        for name in COMMANDS:
            yield from _leaf_commands(group.get_command(None, name), (name,))
        return
    subs = getattr(command, "commands", None)
    if subs:
        for name, sub in subs.items():
            yield from _leaf_commands(sub, (*path, name))
    else:
        yield path, command


def test_global_options_after_the_command_mean_what_they_mean_before(cli, tmp_path):
    """`backup --if-due --quiet` failed with "No such option: --quiet Did you mean '--auto'?"."""
    target = tmp_path / "c.yaml"
    target.write_text(f"repository: {tmp_path / 'repo'}\nsources: [{{name: h, path: {tmp_path}}}]\n")
    before = cli("--json", "--config", target, "config", "check")
    after = cli("config", "check", "--json", "--config", target)
    assert after.exit_code == 0 and after.json == before.json
    mixed = cli("--config", target, "config", "--json", "check")  # on a group, too
    assert mixed.exit_code == 0 and mixed.json == before.json
    quiet = cli("snapshots", "--config", target, "-q")
    assert quiet.exit_code != 2 and "No such option" not in quiet.stderr and quiet.stdout == ""
    missing = cli("config", "check", "--config", tmp_path / "absent.yaml")
    assert missing.exit_code == ExitStatus.USAGE and "absent.yaml" in missing.stderr


def test_every_command_accepts_the_global_options_and_hides_them_from_its_help(cli):
    leaves = list(_leaf_commands(None))
    assert len(leaves) > 20
    for path, command in leaves:
        options = {opt for param in command.params for opt in getattr(param, "opts", [])}
        assert {"--config", "--json", "-q", "--quiet", "-v", "--verbose"} <= options, path
        shown = cli(*path, "--help").stdout
        assert not re.search(r"^\s+(-q, --quiet|-v, --verbose)\b", shown, re.M), path


def test_init_writes_every_key_of_the_schema_with_a_comment(cli, tmp_path):
    """The starter config claimed to show every key and left out nine (rsync.extra_args,
    one_file_system, the ssh timeouts …). Each key is there, set or commented out, with a
    comment saying what it does, and the file is valid as written."""
    import yaml

    from travelsync.config.reference import _rows
    from travelsync.config.schema import SCHEMA

    target = tmp_path / "starter.yaml"
    assert cli("init", "--path", target).exit_code == 0
    text = target.read_text()
    assert cli("--config", target, "config", "check").exit_code == 0
    # `# key:` and, for a commented-out list entry, `#   - key:` / `#     key:` are uncommented
    document = yaml.safe_load(re.sub(r"^(\s*)# (\s*(?:- )?\w+:)", r"\1\2", text, flags=re.M))

    def present(node, parts):
        if not parts:
            return True
        if isinstance(node, list):
            return any(present(item, parts) for item in node)
        return isinstance(node, dict) and parts[0] in node and present(node[parts[0]], parts[1:])

    keys = [key for key, *_ in _rows(SCHEMA, "")]
    missing = [key for key in keys if not present(document, key.replace("[]", "").split("."))]
    assert not missing, missing
    for key in keys:  # a leaf written on a line of its own carries a comment
        leaf = key.rsplit(".", 1)[-1].replace("[]", "")
        lines = [line for line in text.splitlines() if re.match(rf"^\s*(# |- )?{leaf}:\s*\S", line)]
        assert not lines or any("#" in line.split(":", 1)[1] or text.splitlines()[text.splitlines().index(line) - 1]
                                .lstrip().startswith("#") for line in lines), key


STOPPED_COMMAND = """
import os, signal, sys, time
from travelsync.cli.lazy import TravelsyncGroup

group = TravelsyncGroup(name="travelsync")

@group.command()
def wait():
    os.kill(os.getpid(), getattr(signal, sys.argv[1]))
    time.sleep(10)
    print("not stopped")

code = group.main(["wait"], standalone_mode=False)
print("restored", signal.getsignal(signal.SIGTERM) is signal.SIG_DFL, signal.getsignal(signal.SIGINT))
sys.exit(code)
"""


def test_sigterm_and_ctrl_c_end_a_command_with_one_line_and_143_or_130():
    """SIGTERM is raised like Ctrl-C, so that the command's clean-up runs (Python's default:
    death on the spot, rsync and ssh left behind); each ends with one line and 128 + signal;
    the handlers in place before are put back."""
    for name, code, line in (("SIGTERM", 143, "travelsync: stopped by SIGTERM"),
                             ("SIGINT", 130, "travelsync: interrupted")):
        # a shell that started us in the background ignores SIGINT, and Python then keeps it
        # ignored: the child starts with the default, as from a terminal
        done = subprocess.run([sys.executable, "-c", STOPPED_COMMAND, name], capture_output=True, text=True,
                              timeout=30, preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
        assert done.returncode == code, (name, done.returncode, done.stderr)
        assert line in done.stderr and "not stopped" not in done.stdout
        assert "restored True <built-in function default_int_handler>" in done.stdout


def test_verify_with_an_id_and_all_is_refused_not_one_ignored(cli, tmp_path):
    """`verify nonexistent-id --all` verified every snapshot and said nothing of the id."""
    done = cli("--config", tmp_path / "absent.yaml", "verify", "20261122T023000Z-full", "--all")
    assert done.exit_code == ExitStatus.USAGE and "not both" in done.stderr
