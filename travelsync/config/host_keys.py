"""Find ssh arguments that would turn host-key checking off (pure).

travelsync promises that every ssh connection checks the host's key: an option that accepts
any key (`StrictHostKeyChecking=no`) or forgets every known key (`UserKnownHostsFile=/dev/null`)
lets anyone on the network path pose as the repository or the laptop. Options are read as
ssh(1) reads them: `-o ARG` and `-oARG`, bundled flags (`-4o ARG`), keywords in any case,
`Key=value`, `Key value` or `Key = value`, values in any case and in quotes.

`StrictHostKeyChecking=accept-new` stays allowed: it trusts a host's first key (what a person
answering "yes" does; cron has no one to ask) and still refuses a changed key.
"""

import os
import re
import shlex

# ssh(1)'s getopt string (OpenSSH 9): the letters followed by ':' take an argument.
_SSH_FLAGS = "1246ab:c:e:fgi:kl:m:no:p:qstvxAB:CD:E:F:GI:J:KL:MNO:P:Q:R:S:TVw:W:XYy"
_TAKES_ARGUMENT = {letter for letter, colon in zip(_SSH_FLAGS, _SSH_FLAGS[1:] + " ") if colon == ":"}
_KEYWORD = re.compile(r"\s*([^\s=]+)\s*(?:=\s*|\s+)(.*?)\s*")
_OFF = {"no", "off", "false"}  # readconf.c's multistate_strict_hostkey values that mean "accept any key"
_NO_FILE = {"/dev/null", "none"}


def _unquote(value: str) -> str:
    return value[1:-1] if len(value) >= 2 and value[0] == value[-1] == '"' else value


def bypass(option: str) -> str | None:
    """Given the argument of one `-o`, return why it skips host keys, or None."""
    match = _KEYWORD.fullmatch(option)
    if not match:
        return None
    keyword, value = match[1].lower(), _unquote(match[2])
    if keyword == "stricthostkeychecking" and value.lower() in _OFF:
        return f"StrictHostKeyChecking={value} accepts any host key"
    if keyword == "userknownhostsfile":
        files = value.split()
        if files and all(f.lower() in _NO_FILE or os.path.realpath(os.path.expanduser(f)) == "/dev/null"
                         for f in files):
            return f"UserKnownHostsFile={value} forgets every known host key"
    return None


def ssh_option_values(argv) -> list[tuple[int, str]]:
    """(index into argv, text) of every `-o` argument, read with ssh's own option rules."""
    found = []
    index = 0
    while index < len(argv):
        word = argv[index]
        if word == "--" or not word.startswith("-") or len(word) < 2:
            index += 1
            continue
        for position in range(1, len(word)):
            letter = word[position]
            if letter not in _TAKES_ARGUMENT:
                continue
            rest = word[position + 1:]
            if rest:
                value, where = rest, index
            else:
                index += 1
                value, where = (argv[index], index) if index < len(argv) else (None, index)
            if letter == "o" and value is not None:
                found.append((where, value))
            break
        index += 1
    return found


def ssh_bypasses(options) -> list[tuple[int, str]]:
    """(index, reason) of every entry of `ssh.options` that turns host-key checking off."""
    return [(index, why) for index, value in ssh_option_values(list(options)) if (why := bypass(value))]


def rsh_commands(extra_args) -> list[tuple[int, str]]:
    """(index, command) of every remote-shell command in rsync arguments (`-e CMD`, `--rsh=CMD`)."""
    found = []
    args = list(extra_args)
    for index, word in enumerate(args):
        if word.startswith("--rsh="):
            found.append((index, word[len("--rsh="):]))
        elif word in ("-e", "--rsh") and index + 1 < len(args):
            found.append((index + 1, args[index + 1]))
        elif word.startswith("-e") and len(word) > 2:
            found.append((index, word[2:]))
    return found


def rsh_bypasses(extra_args) -> list[tuple[int, str]]:
    """(index, reason) of every rsync `-e`/`--rsh` command whose ssh options skip host keys."""
    found = []
    for index, command in rsh_commands(extra_args):
        try:
            words = shlex.split(command)
        except ValueError:
            continue
        found += [(index, why) for _, why in ssh_bypasses(words[1:])]
    return found
