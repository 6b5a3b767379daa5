"""The remote mail programs (resources/remote/mail-read.sh, mail-check.sh, mail-put.sh) run here
with `sh`, exactly as the remote shell runs them, each answer read by its parser in
travelsync/mail/remote.py: every named exit code is reached, the file is as it was after every
refusal, and no temp copy is left. (The same programs over a real sshd: tests/integration/
test_mail_e2e.py and test_mail_private_temp.py.)"""

import os
import shutil
import tempfile
from pathlib import Path

import pytest

from tests.conftest import need_programs
from travelsync.location import parse_location
from travelsync.mail.apply import MailRefused
from travelsync.mail.clients import fetchmail, mpop
from travelsync.mail.remote import CheckExit, PutExit, ReadExit, RemoteFiles, check_answer

RC = b"poll pop.example.org proto pop3\n  user \"marc\" password \"s3cret\" is marc here\n"


class Here(RemoteFiles):
    """RemoteFiles whose "remote shell" is `sh` on this machine; it records each exit status."""

    def __init__(self, shell_prefix=()):
        super().__init__(ssh_config=None)
        self.shell_prefix = list(shell_prefix)
        self.codes = []

    def argv(self, location, command):
        return [*self.shell_prefix, "sh", "-c", command]

    def _program(self, *args, **kwargs):
        done = super()._program(*args, **kwargs)
        self.codes.append(done.returncode)
        return done


def at(path: Path):
    return parse_location(f"marc@laptop:{path}")


def read(path: Path, files=None):
    files = files or Here()
    try:
        return files.read(at(path)), files.codes[-1]
    except MailRefused as refused:
        return str(refused), files.codes[-1]


def test_read_answers_the_bytes_mode_and_real_path_through_a_symlink(tmp_path):
    folder = tmp_path / "mail"
    folder.mkdir(mode=0o750)
    real = folder / "rc"
    real.write_bytes(b"no newline\0at the end\xff")
    real.chmod(0o640)
    (tmp_path / "link").symlink_to(real)
    config, code = read(tmp_path / "link")
    assert code == ReadExit.OK
    assert (config.data, config.mode, config.real_path, config.folder_writable) == (
        b"no newline\0at the end\xff", 0o640, str(real), True)


@pytest.mark.parametrize("make,code,words", [
    (lambda p: None, ReadExit.MISSING, "no such file"),
    (lambda p: p.symlink_to(p.parent / "gone"), ReadExit.DANGLING, "a symlink to a missing file"),
    (lambda p: p.mkdir(), ReadExit.DIRECTORY, "is a directory, not a mail client's config file"),
    (lambda p: os.mkfifo(p), ReadExit.SPECIAL, "not a regular file"),
], ids=["missing", "dangling", "directory", "fifo"])
def test_read_names_each_problem(tmp_path, make, code, words):
    make(tmp_path / "rc")
    message, got = read(tmp_path / "rc")
    assert got == code
    assert message == f"marc@laptop:{tmp_path}/rc: {words}; nothing changed"


@pytest.fixture
def open_folder():
    """A folder user nobody can reach (pytest's own are private)."""
    folder = Path(tempfile.mkdtemp(prefix="travelsync-mail-remote-"))
    folder.chmod(0o755)
    yield folder
    shutil.rmtree(folder)


AS_NOBODY = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"]


def test_read_of_a_file_the_user_cannot_read_says_so(open_folder):
    need_programs("setpriv")
    tmp_path = open_folder
    (tmp_path / "rc").write_bytes(RC)
    (tmp_path / "rc").chmod(0o600)
    message, code = read(tmp_path / "rc", Here(AS_NOBODY))
    assert (code, message) == (ReadExit.UNREADABLE, f"marc@laptop:{tmp_path}/rc: cannot read it; nothing changed")


def test_read_of_a_read_only_folder_is_not_writable(open_folder):
    need_programs("setpriv")
    tmp_path = open_folder
    (tmp_path / "rc").write_bytes(RC)
    (tmp_path / "rc").chmod(0o644)
    config, code = read(tmp_path / "rc", Here(AS_NOBODY))
    assert code == ReadExit.OK and config.folder_writable is False and config.data == RC


@pytest.mark.parametrize("module,output", [(fetchmail, b""), (mpop, b"out\n")], ids=["no-confirm", "confirm"])
def test_check_runs_the_checker_on_a_private_copy_with_the_files_mode_and_removes_it(tmp_path, monkeypatch,
                                                                                     module, output):
    """The checker's output comes back only to a module that compares it (fetchmail's holds passwords)."""
    spy = tmp_path / "bin" / module.KIND
    spy.parent.mkdir()
    spy.write_text(f"#!/bin/sh\nstat -c '%a' \"$(dirname \"$2\")\" \"$2\" > {tmp_path}/seen\n"
                   f"cat \"$2\" >> {tmp_path}/seen\necho out; echo err >&2\n")  # CHECKER -f|-C COPY ...
    spy.chmod(0o755)
    monkeypatch.setenv("PATH", f"{spy.parent}:{os.environ['PATH']}")
    (tmp_path / "rc").write_bytes(RC)
    (tmp_path / "rc").chmod(0o640)
    files = Here()
    config = files.read(at(tmp_path / "rc"))
    done, argv, temp = files._run_copy(config, b"edited\n", module)
    assert files.codes[-1] == 0 and argv[0] == module.KIND and argv[2] == temp
    assert (tmp_path / "seen").read_text() == "700\n640\nedited\n"
    assert done.stdout == output and done.stderr == b""
    assert not Path(temp).parent.exists()


def test_check_passes_the_checkers_refusal_on_without_its_output(tmp_path, monkeypatch):
    fake = tmp_path / "bin" / "mpop"
    fake.parent.mkdir()
    fake.write_text("#!/bin/sh\necho 'password = s3cret'\necho 'mpop: line 2: bad' >&2\nexit 1\n")
    fake.chmod(0o755)
    monkeypatch.setenv("PATH", f"{fake.parent}:{os.environ['PATH']}")
    (tmp_path / "rc").write_bytes(RC)
    files = Here()
    done, _, temp = files._run_copy(files.read(at(tmp_path / "rc")), RC, mpop)
    assert (done.returncode, done.stdout, done.stderr) == (1, b"", b"mpop: line 2: bad\n")
    assert not Path(temp).parent.exists()


def test_check_without_the_checker_installed_is_none(tmp_path, monkeypatch):
    empty = tmp_path / "bin"
    empty.mkdir()
    for program in ("sh", "mkdir", "rm", "cat", "chmod", "chown"):
        (empty / program).symlink_to(shutil.which(program))
    (tmp_path / "rc").write_bytes(RC)
    files = Here()
    config = files.read(at(tmp_path / "rc"))
    monkeypatch.setenv("PATH", str(empty))
    done, _, temp = files._run_copy(config, RC, fetchmail)
    assert files.codes[-1] == CheckExit.NOT_INSTALLED and done is None and not Path(temp).parent.exists()


@pytest.mark.parametrize("spoil,code", [("folder", CheckExit.NO_COPY), ("reference", CheckExit.NO_MODE)])
def test_check_that_cannot_make_its_copy_refuses(tmp_path, spoil, code):
    (tmp_path / "rc").write_bytes(RC)
    files = Here()
    config = files.read(at(tmp_path / "rc"))
    if spoil == "folder":  # the private folder exists already: mkdir refuses, nothing is removed
        os.mkdir(tmp_path / "taken")
        done = files._program(config.location, "mail-check.sh", str(tmp_path / "taken"), config.real_path,
                              str(tmp_path / "taken" / "rc"), "0", "true", input=RC)
        assert (tmp_path / "taken").is_dir()
    else:  # the file vanished after it was read: the copy cannot take its mode
        (tmp_path / "rc").unlink()
        done = files._program(config.location, "mail-check.sh", str(tmp_path / "check"), config.real_path,
                              str(tmp_path / "check" / "rc"), "0", "true", input=RC)
        assert not (tmp_path / "check").exists()
    assert done.returncode == code
    with pytest.raises(MailRefused, match=r"cannot write a temp copy to check in /tmp on laptop; nothing changed"):
        check_answer(config, done)


def leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.endswith(".travelsync-tmp"))


def test_put_replaces_the_file_keeping_its_mode_and_leaves_no_temp(tmp_path):
    (tmp_path / "rc").write_bytes(RC)
    (tmp_path / "rc").chmod(0o640)
    files = Here()
    files.replace(files.read(at(tmp_path / "rc")), b"new\n")
    assert files.codes[-1] == PutExit.OK
    assert (tmp_path / "rc").read_bytes() == b"new\n" and (tmp_path / "rc").stat().st_mode & 0o777 == 0o640
    assert leftovers(tmp_path) == []


def test_put_refuses_a_file_changed_since_it_was_read(tmp_path):
    (tmp_path / "rc").write_bytes(RC)
    files = Here()
    config = files.read(at(tmp_path / "rc"))
    (tmp_path / "rc").write_bytes(b"changed by the user\n")
    with pytest.raises(MailRefused, match="changed while travelsync was working; nothing changed"):
        files.replace(config, b"new\n")
    assert files.codes[-1] == PutExit.CHANGED
    assert (tmp_path / "rc").read_bytes() == b"changed by the user\n" and leftovers(tmp_path) == []


def shim(folder: Path, program: str, body: str) -> None:
    folder.mkdir(exist_ok=True)
    (folder / program).write_text(f"#!/bin/sh\n{body}\n")
    (folder / program).chmod(0o755)


@pytest.mark.parametrize("program,body,code", [
    ("cat", "echo 'cat: write error: No space left on device' >&2; exit 1", PutExit.NO_TEMP),
    ("chmod", "echo 'chmod: Operation not permitted' >&2; exit 1", PutExit.NO_MODE),
    ("mv", "echo 'mv: Input/output error' >&2; exit 1", PutExit.NO_RENAME),
], ids=["write", "mode", "rename"])
def test_a_put_that_fails_leaves_the_file_as_it_was_and_no_temp_copy(tmp_path, monkeypatch, program, body, code):
    (tmp_path / "mail").mkdir()
    rc = tmp_path / "mail" / "rc"
    rc.write_bytes(RC)
    files = Here()
    config = files.read(at(rc))
    shim(tmp_path / "bin", program, body)
    monkeypatch.setenv("PATH", f"{tmp_path / 'bin'}:{os.environ['PATH']}")
    with pytest.raises(MailRefused) as refused:
        files.replace(config, b"new\n")
    assert files.codes[-1] == code
    assert str(refused.value).startswith(f"marc@laptop:{rc}: could not replace it over ssh (")
    assert rc.read_bytes() == RC and leftovers(rc.parent) == []

