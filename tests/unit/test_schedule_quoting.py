"""Paths that go into a crontab line or a unit file (issue 15, finding 9): control characters
are refused; everything else is quoted by each format's own rules and comes back intact."""

import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.conftest import need_programs
from travelsync.config.model import Schedule
from travelsync.errors import UsageError
from travelsync.exitcodes import ExitStatus
from travelsync.schedule import install

HOSTILE = ["100% sure", "two  spaces", "it's", 'say "hi"', "$HOME and ${USER}", "back\\slash", "semi;colon",
           "`tick`", "%h %n %%", "star*?[x]", "ünï cödé"]
CONTROL = ["new\nline", "carriage\rreturn", "tab\there", "escape\x1b[0m", "nul-less\x7fdel"]


def argv_recorder(folder: Path, name: str) -> Path:
    """An executable at a hostile path that writes the arguments it got, as JSON, beside it."""
    folder.mkdir(parents=True, exist_ok=True)
    script = folder / name
    script.write_text("#!/usr/bin/python3\nimport json, os, sys\n"
                      "open(os.environ['RECORD'], 'w').write(json.dumps(sys.argv[1:]))\n")
    script.chmod(0o755)
    return script


def cron_command(line: str) -> str:
    """What cron hands to /bin/sh for one crontab line (do_command.c of Debian's cron): the
    command field, with an escaped \\% turned into % and an unescaped % ending the command
    (the rest becomes its standard input)."""
    command = line.split(None, 1)[1]
    out, escaped = [], False
    for char in command:
        if escaped:
            out.append(char if char == "%" else "\\" + char)
            escaped = False
        elif char == "\\":
            escaped = True
        elif char == "%":
            break
        else:
            out.append(char)
    return "".join(out) + ("\\" if escaped else "")


@pytest.mark.parametrize("name", HOSTILE)
def test_cron_line_hands_hostile_paths_over_intact(tmp_path, name):
    need_programs("nice", "ionice", "/usr/bin/python3")
    program = argv_recorder(tmp_path / f"bin {name}", f"travelsync {name}")
    config = tmp_path / f"conf {name}" / f"config {name}.yaml"
    block = install.render_cron(install.Invocation((str(program),), config))
    [hourly] = [line for line in block.splitlines() if line.startswith("@hourly")]
    record = tmp_path / "argv.json"
    done = subprocess.run(["/bin/sh", "-c", cron_command(hourly)], env={**os.environ, "RECORD": str(record)},
                          capture_output=True, text=True, timeout=30)
    assert done.returncode == 0, done.stderr
    assert json.loads(record.read_text()) == ["--config", str(config), "--quiet", "backup", "--if-due"]


def systemd_words(text: str) -> list[str]:
    """ExecStart= split as systemd.service(5) documents: words in double or single quotes or
    bare, C escapes in quotes, %% a literal %, and (at run time) $$ a literal $."""
    words, position = [], 0
    token = re.compile(r'\s*(?:"((?:[^"\\]|\\.)*)"|\'((?:[^\'\\]|\\.)*)\'|(\S+))')
    while position < len(text.rstrip()):
        match = token.match(text, position)
        word = match[1] if match[1] is not None else match[2] if match[2] is not None else match[3]
        if match[3] is None:
            word = re.sub(r"\\(.)", r"\1", word)
        word = word.replace("%%", "\0")
        assert "%" not in word, f"specifier left in {word!r}"
        word = re.sub(r"\$(\$|\w+|\{[^}]*\})", lambda m: "$" if m[1] == "$" else "<variable>", word)
        words.append(word.replace("\0", "%"))
        position = match.end()
    return words


@pytest.mark.parametrize("name", HOSTILE)
def test_unit_quotes_hostile_config_paths(tmp_path, name):
    """systemd-analyze verify accepts the unit; its ExecStart splits back into the same words."""
    need_programs("systemd-analyze")
    config = tmp_path / f"conf {name}" / f"config {name}.yaml"
    program = argv_recorder(tmp_path / "bin", "travelsync")
    files = install.render_systemd(install.Invocation((str(program),), config), Schedule(), None)
    for file_name, text in files.items():
        (tmp_path / file_name).write_text(text)
    done = subprocess.run(["systemd-analyze", "verify", install.SERVICE, install.TIMER], cwd=tmp_path,
                          capture_output=True, text=True, timeout=60)
    assert (done.returncode, done.stderr) == (0, "")
    [exec_start] = [l for l in files[install.SERVICE].splitlines() if l.startswith("ExecStart=")]
    assert systemd_words(exec_start[len("ExecStart="):]) == [str(program), "--config", str(config), "--quiet",
                                                             "backup", "--if-due"]


@pytest.mark.parametrize("name", ["100% sure", "two  spaces", "$HOME dollar", "ünï"])
def test_unit_program_path_with_hostile_characters_is_found_by_systemd(tmp_path, name):
    """systemd checks that ExecStart's program exists: a wrongly quoted path fails verify."""
    need_programs("systemd-analyze")
    program = argv_recorder(tmp_path / f"bin {name}", f"travelsync {name}")
    files = install.render_systemd(install.Invocation((str(program),), tmp_path / "c.yaml"), Schedule(), None)
    (tmp_path / install.SERVICE).write_text(files[install.SERVICE])
    done = subprocess.run(["systemd-analyze", "verify", install.SERVICE], cwd=tmp_path, capture_output=True,
                          text=True, timeout=60)
    assert (done.returncode, done.stderr) == (0, "")


@pytest.mark.parametrize("name", ['quo"te', "it's", "back\\slash"])
def test_unit_program_path_systemd_cannot_name_is_refused(tmp_path, name):
    """Measured: systemd refuses an executable name with quotes or backslashes ("contains special
    characters"); travelsync says so before writing anything."""
    invocation = install.Invocation((str(tmp_path / name / "travelsync"),), tmp_path / "c.yaml")
    with pytest.raises(UsageError) as caught:
        install.render_systemd(invocation, Schedule(), None)
    assert "systemd" in caught.value.message and name in caught.value.message


@pytest.mark.parametrize("name", CONTROL)
def test_control_characters_are_refused_in_cron_and_units(tmp_path, name):
    for invocation in (install.Invocation(("/usr/bin/travelsync",), tmp_path / f"c{name}.yaml"),
                       install.Invocation((str(tmp_path / name / "travelsync"),), tmp_path / "c.yaml")):
        for render in (install.render_cron, lambda i: install.render_systemd(i, Schedule(), None)):
            with pytest.raises(UsageError) as caught:
                render(invocation)
            assert caught.value.exit_status == ExitStatus.USAGE
            assert "control character" in caught.value.message and repr(name)[1:-1] in caught.value.message


def test_newline_in_the_config_path_injects_no_cron_line(cli, tmp_path):
    folder = tmp_path / "x\n* * * * * touch pwned #"
    folder.mkdir()
    config = folder / "config.yaml"
    config.write_text(f"repository: {tmp_path}/repo\nsources:\n  - name: home\n    path: {tmp_path}\n")
    result = cli("--config", config, "schedule", "install", "--cron", "--dry-run")
    assert result.exit_code == 2, result.stdout
    assert "touch pwned" not in result.stdout and "control character" in result.stderr
