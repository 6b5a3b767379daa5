"""Every travelsync command line the docs show is one the real CLI accepts: its command,
sub-command and options exist, in the place they stand. (Parsed by click exactly as a run
would parse it; nothing runs.)"""

import re
import shlex

import click
import pytest

from tests.conftest import REPO_ROOT

PAGES = [REPO_ROOT / "README.md", *sorted((REPO_ROOT / "docs").glob("*.md")), *sorted((REPO_ROOT / "cron").glob("*"))]
FENCE = re.compile(r"^(```|~~~)")
INLINE = re.compile(r"`([^`\n]+)`")
# a line that runs travelsync: `travelsync …`, `.venv/bin/travelsync …`, after `$ `, `sudo`,
# `VAR=value`, a cron time (`@hourly`, `30 2 * * *`), `ExecStart=` or click's `Usage:`
COMMAND = re.compile(r"^\s*(?:\$\s+|Usage:\s+|ExecStart=)?(?:sudo\s+(?:-\S+\s+)*)?(?:[A-Z_]+=\S+\s+)*"
                     r"(?:@\w+\s+|(?:[\d*/,-]+\s+){5})?(?:[\w./-]*/)?travelsync((?:\s+[^\s#|;&>)]+)+)")
PLACEHOLDER = re.compile(r"[<>\[\]{}…]|\.\.\.|^[A-Z][A-Z0-9_]*$|\$")


def command_lines(text: str):
    """(line number, argv after `travelsync`) of each command line in a page's code."""
    fenced = False
    for number, line in enumerate(text.splitlines(), 1):
        if FENCE.match(line.strip()):
            fenced = not fenced
            continue
        if line.lstrip().startswith("#"):
            continue  # a heading names a command; in code, a comment or a header (`# travelsync manifest 2`)
        indent = len(line) - len(line.lstrip(" "))
        if fenced and 0 < indent < 4:
            continue  # the prose of a --help text (docs/cli.md), not an example
        snippets = [line] if fenced else INLINE.findall(line)
        for snippet in snippets:
            for match in COMMAND.finditer(snippet.split(" # ")[0].split(" && ")[-1]):
                try:
                    words = shlex.split(match.group(1))
                except ValueError:
                    continue
                yield number, words


def concrete(words) -> tuple[list[str], bool] | None:
    """The words up to the first placeholder (`<id>`, `[--path P]`, `ID`, `…`), and whether
    one cut them short; None for a synopsis that shows alternatives (`a|b`)."""
    kept = []
    for word in words:
        if "|" in word:
            return None
        if PLACEHOLDER.search(word):
            return kept, True
        kept.append(word)
    return kept, False


def parse(argv: list[str]) -> None:
    """Parse argv as `travelsync` would, through every group to the command; click raises a
    UsageError for an option or command that does not exist where it stands."""
    from travelsync.cli import cli
    from travelsync.cli.app import App

    command, name, args = cli, "travelsync", list(argv)
    try:
        ctx = command.make_context(name, args, obj=App())
        while isinstance(command, click.Group):
            rest = [*getattr(ctx, "_protected_args", []), *ctx.args]
            if not rest:
                return
            name, command, rest = command.resolve_command(ctx, rest)
            ctx = command.make_context(name, rest, parent=ctx)
    except click.exceptions.NoArgsIsHelpError:
        return  # a group shown alone (`travelsync mailer`): it prints its help


def all_command_lines():
    for page in PAGES:
        if page.is_file():
            for number, words in command_lines(page.read_text(errors="replace")):
                found = concrete(words)
                if found and found[0] and not any(w in ("--help", "-h", "--version") for w in found[0]):
                    yield f"{page.relative_to(REPO_ROOT)}:{number}", *found


def test_the_docs_show_many_command_lines():
    assert len(list(all_command_lines())) > 80


def test_every_command_line_in_the_docs_parses():
    wrong = []
    for where, argv, cut_short in all_command_lines():
        try:
            parse(argv)
        except (click.MissingParameter, click.BadOptionUsage) as error:
            if not cut_short:  # else the placeholder that was cut off is the missing value
                wrong.append(f"{where}: travelsync {shlex.join(argv)}: {error.format_message()}")
        except click.ClickException as error:
            wrong.append(f"{where}: travelsync {shlex.join(argv)}: {error.format_message()}")
    assert not wrong, "\n".join(wrong)


def test_a_doc_line_the_cli_rejects_is_caught():
    """The check itself: a wrong option, one in the wrong place, an unknown command."""
    for argv in (["backup", "--if-dew"], ["restore", "--from", "latest", "--pth", "x"], ["restor"],
                 ["mailer", "keep", "--full"]):
        with pytest.raises(click.ClickException):
            parse(argv)
    parse(["backup", "--if-due", "--quiet"])


def test_a_wrong_line_on_a_page_is_found_and_rejected():
    page = "Run this:\n\n```\ntravelsync backup --if-dew\n  travelsync prose in a help text\n```\nor `sudo travelsync restore --form x`.\n"
    found = [words for _number, words in command_lines(page)]
    assert found == [["backup", "--if-dew"], ["restore", "--form", "x"]]
    for words in found:
        with pytest.raises(click.ClickException):
            parse(words)


JSON_SHAPE = re.compile(r"With --json: (a list of )?\{(?P<keys>.*?)\}\.", re.S)


def documented_keys(help_text: str) -> set[str]:
    """The top-level keys a command's --help names in its `With --json: {…}` sentence."""
    text = JSON_SHAPE.search(help_text).group("keys")
    depth, keys, word = 0, set(), ""
    for char in text + ",":
        depth += char == "{"
        depth -= char == "}"
        if char == "," and depth == 0:
            keys.add(word.split(":")[0].strip())
            word = ""
        else:
            word += char
    return keys


def test_json_shapes_in_help_are_what_the_commands_print(cli, tmp_path):
    """`snapshots --help` named 7 keys of the 9 it prints."""
    from tests.conftest import need_programs
    from travelsync.cli.backup_cmds import snapshots
    from travelsync.cli.schedule_cmds import show

    need_programs("rsync")
    source = tmp_path / "home"
    source.mkdir()
    (source / "a").write_text("a")
    config = tmp_path / "c.yaml"
    config.write_text(f"repository: {tmp_path / 'repo'}\nsources: [{{name: home, path: {source}}}]\n")
    env = {"TRAVELSYNC_NOW": "2026-11-22T02:30:00+00:00"}
    assert cli("--config", config, "backup", "--full", env=env).exit_code == 0
    listed = cli("--config", config, "--json", "snapshots", env=env).json
    assert set(listed[0]) == documented_keys(snapshots.help)
    shown = cli("--config", config, "--json", "schedule", "show", env=env).json
    assert set(shown) == documented_keys(show.help)
