"""The off-site copy's encryption against the real gocryptfs and rsync (issue 19): what the
ciphertext view shows, that it is deterministic (rsync --link-dest still links unchanged
files), that a copy comes back exactly, and that a view never outlives its block."""

import errno
import json
import os
import signal
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

import pytest

from tests.conftest import REPO_ROOT, need, need_programs, pids_where
from travelsync.errors import UsageError
from travelsync.exitcodes import ExitStatus
from travelsync.offsite import crypt

pytestmark = pytest.mark.integration
PASSWORD = b"correct horse battery staple"
WRONG = b"Tr0ub4dor&3"
SECRET_TEXT = b"KNOWN-CONTENT-STRING-7f3a"
SECRET_NAMES = ["tax-return-2026.pdf", "Passwords", "diary entry.txt", "holiday-photos"]


@pytest.fixture
def fuse():
    need_programs("gocryptfs", "fusermount3", "rsync")
    need(os.access("/dev/fuse", os.R_OK | os.W_OK), "/dev/fuse is not usable (FUSE needs root or a fuse group here)")


@pytest.fixture
def config(fuse, tmp_path, monkeypatch):
    """A config whose key derivation is cheap (scrypt N = 2^10, not 2^16): dozens of mounts on a
    loaded machine; what the tests prove does not depend on the cost."""
    monkeypatch.setattr(crypt, "SCRYPT_COST", 10)
    path = tmp_path / "keys" / "gocryptfs.conf"
    crypt.init_config(path, PASSWORD)
    return path


@pytest.fixture
def temp(tmp_path, monkeypatch) -> Path:
    """A temporary folder of this test's own for the views' mount points: what is left there is
    this test's doing, not another developer's run at the same time."""
    folder = tmp_path / "temp"
    folder.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(folder))
    return folder


def rsync(*args) -> str:
    done = subprocess.run(["rsync", *map(str, args)], capture_output=True)
    assert done.returncode == 0, done.stderr.decode(errors="replace")
    return done.stdout.decode(errors="replace")


def write(path: Path, data: bytes, mtime: int | None = None) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    if mtime is not None:
        os.utime(path, (mtime, mtime))
    return path


def secret_tree(root: Path) -> Path:
    """Folders and files whose names and contents are known plaintext to look for."""
    write(root / "holiday-photos" / "tax-return-2026.pdf", b"%PDF " + SECRET_TEXT + b"\n" * 100)
    write(root / "Passwords" / "diary entry.txt", SECRET_TEXT * 500)
    (root / "Passwords" / "link").symlink_to("tax-return-2026.pdf")
    return root


def tree_files(root: Path) -> dict:
    """relative path (bytes) → (st_ino, content or link target), for every file and link."""
    found = {}
    for folder, dirs, files in os.walk(os.fsencode(root)):
        for name in files + [d for d in dirs if os.path.islink(os.path.join(folder, d))]:
            path = os.path.join(folder, name)
            relative = os.path.relpath(path, os.fsencode(root))
            if os.path.islink(path):
                found[relative] = (os.lstat(path).st_ino, b"-> " + os.readlink(path))
            else:
                with open(path, "rb") as handle:
                    found[relative] = (os.lstat(path).st_ino, handle.read())
    return found


def our_gocryptfs(mountpoint) -> list[int]:
    return pids_where(lambda cmdline: cmdline.startswith(b"gocryptfs\0") and os.fsencode(mountpoint) in cmdline)


# -- the password ------------------------------------------------------------------------------

def test_password_from_command_strips_one_newline_and_names_the_command_on_failure():
    environ = {"PATH": os.environ["PATH"], "SECRET_FILE_LINE": "s3cret pass"}
    assert crypt.password_from_command('echo "$SECRET_FILE_LINE"', environ) == b"s3cret pass"
    for command, says in (('echo "$SECRET_FILE_LINE"; exit 3', "failed (exit status 3)"),
                          ("true", "printed no password"), ('printf "%s\\n" "$SECRET_FILE_LINE" b', "more than one line"),
                          ("no-such-program-xyz", "exit status 127")):
        with pytest.raises(UsageError) as raised:
            crypt.password_from_command(command, environ)
        assert raised.value.exit_status == ExitStatus.USAGE
        assert f"password_command {command!r}" in raised.value.message and says in raised.value.message
        assert "s3cret" not in raised.value.message  # the command is named, what it printed never


def test_the_password_is_on_no_command_line_and_in_no_environment(config, tmp_path):
    with crypt.reverse_view(secret_tree(tmp_path / "snap"), config, PASSWORD) as view:
        [pid] = our_gocryptfs(view)
        assert PASSWORD not in Path(f"/proc/{pid}/cmdline").read_bytes()
        assert PASSWORD not in Path(f"/proc/{pid}/environ").read_bytes()


# -- the config ------------------------------------------------------------------------------

def test_init_config_writes_the_config_alone_and_never_replaces_one(fuse, tmp_path):
    path = tmp_path / "keys" / "gocryptfs.conf"
    crypt.init_config(path, PASSWORD)
    assert sorted(p.name for p in path.parent.iterdir()) == ["gocryptfs.conf"]  # no scratch left
    assert b'"AESSIV"' in path.read_bytes() and PASSWORD not in path.read_bytes()
    assert json.loads(path.read_bytes())["ScryptObject"]["N"] == 1 << 16  # gocryptfs's default cost
    assert path.stat().st_mode & 0o077 == 0
    before = path.read_bytes()
    with pytest.raises(UsageError, match="refusing to replace"):
        crypt.init_config(path, b"another password")
    assert path.read_bytes() == before
    longest = tmp_path / "longest" / "gocryptfs.conf"
    crypt.init_config(longest, b"x" * crypt.PASSWORD_MAX)  # gocryptfs's own limit, measured: 2048 bytes
    with pytest.raises(UsageError, match="one line of 1 to 2048 bytes"):
        crypt.init_config(tmp_path / "too-long" / "gocryptfs.conf", b"x" * (crypt.PASSWORD_MAX + 1))
    assert not (tmp_path / "too-long").exists()


# -- what the view shows ------------------------------------------------------------------------

def test_the_ciphertext_view_and_its_copy_hold_no_plaintext_name_or_content(config, tmp_path):
    snapshot = secret_tree(tmp_path / "snap")
    copy = tmp_path / "offsite"
    with crypt.reverse_view(snapshot, config, PASSWORD) as view:
        rsync("-aH", f"{view}/", copy)
    assert len(tree_files(copy)) == len(tree_files(snapshot)) + 3  # + gocryptfs.diriv in 3 folders
    everything = b""
    for relative, (_, data) in tree_files(copy).items():
        everything += relative + b"\0" + data + b"\0"
    for known in [SECRET_TEXT, b"%PDF", *(name.encode() for name in SECRET_NAMES)]:
        assert known not in everything
    grep = subprocess.run(["grep", "-r", "-a", "-l", "-F", "-e", SECRET_TEXT.decode(), "-e", "tax-return", str(copy)],
                          capture_output=True)
    assert grep.returncode == 1, grep.stdout  # 1: no line matched anywhere


# -- determinism and --link-dest --------------------------------------------------------------

@pytest.mark.parametrize("made_by", ["a copy", "hard links"])
def test_an_unchanged_file_gets_the_same_ciphertext_and_is_hard_linked_by_link_dest(config, tmp_path, made_by):
    """Snapshot 2 from snapshot 1 as a copy (new inodes) or as the home repository makes an
    incremental (hard links to the same inodes): the view depends on paths and contents only."""
    first, second = tmp_path / "snapshots" / "1", tmp_path / "snapshots" / "2"
    for number in range(20):
        write(first / "docs" / f"note {number}.txt", f"note {number}\n".encode() * 300, mtime=1_700_000_000)
    write(first / "docs" / "changing.txt", b"first version\n" * 300, mtime=1_700_000_000)
    subprocess.run(["cp", "-a" if made_by == "a copy" else "-al", first, second], check=True)
    (second / "docs" / "changing.txt").unlink()  # replaced, as rsync replaces a changed file
    write(second / "docs" / "changing.txt", b"second version\n" * 300, mtime=1_700_086_400)
    for folder, day in ((first, 0), (second, 0), (first / "docs", 0), (second / "docs", 1)):
        os.utime(folder, (1_700_000_000 + day * 86400,) * 2)  # a folder whose entry was replaced: a new mtime
    copies = tmp_path / "offsite"
    copies.mkdir()
    with crypt.reverse_view(first, config, PASSWORD) as view:
        rsync("-aH", f"{view}/", copies / "1")
    with crypt.reverse_view(second, config, PASSWORD) as view:
        rsync("-aH", f"--link-dest={copies / '1'}", f"{view}/", copies / "2")
    old, new = tree_files(copies / "1"), tree_files(copies / "2")
    assert old.keys() == new.keys()  # same ciphertext names for the same plaintext names
    copied = sorted(name for name in new if new[name][0] != old[name][0])
    changed = [name for name in new if new[name][1] != old[name][1]]
    docs_diriv = [name for name in new if name.count(b"/") == 1 and name.endswith(b"/gocryptfs.diriv")]
    assert len(changed) == 1 and len(new) == 23  # 21 files, 2 gocryptfs.diriv
    # every other file is one inode with its copy in snapshot 1, but for the changed folder's
    # 16-byte gocryptfs.diriv: the view gives it the folder's mtime, so rsync copies it anew
    assert copied == sorted(changed + docs_diriv)
    with crypt.forward_view(copies / "2", config, PASSWORD) as plain:
        assert (plain / "docs" / "changing.txt").read_bytes() == b"second version\n" * 300


def test_hard_links_within_a_snapshot_survive_the_view_and_rsync_H(config, tmp_path):
    snapshot = tmp_path / "snap"
    write(snapshot / "a" / "one", b"linked content\n" * 1000)
    (snapshot / "b").mkdir()
    os.link(snapshot / "a" / "one", snapshot / "b" / "two")
    copy, back = tmp_path / "offsite", tmp_path / "restored"
    with crypt.reverse_view(snapshot, config, PASSWORD) as view:
        rsync("-aH", f"{view}/", copy)
    inodes = {os.stat(p).st_ino for p in copy.rglob("*") if p.is_file() and p.name != "gocryptfs.diriv"}
    assert len(inodes) == 1  # the two names are one ciphertext file in the copy
    with crypt.forward_view(copy, config, PASSWORD) as plain:
        rsync("-aH", f"{plain}/", back)
    assert os.stat(back / "a" / "one").st_ino == os.stat(back / "b" / "two").st_ino


def test_a_one_byte_change_changes_one_ciphertext_block_of_the_file(config, tmp_path):
    """What rsync's delta transfer relies on (and what the host learns: which 4 KiB changed)."""
    data = bytearray(os.urandom(1 << 20))
    write(tmp_path / "1" / "big", bytes(data))
    data[10 * 4096 + 5] ^= 0xFF
    write(tmp_path / "2" / "big", bytes(data))
    ciphertexts = []
    for number in ("1", "2"):
        with crypt.reverse_view(tmp_path / number, config, PASSWORD) as view:
            [name] = [n for n in os.listdir(view) if n != "gocryptfs.diriv"]
            ciphertexts.append((view / name).read_bytes())
    old, new = ciphertexts
    header, block = 18, 4096 + 32  # gocryptfs: a file header, then each 4 KiB block with its nonce and tag
    assert len(old) == len(new) == header + (1 << 20) + 256 * 32 and old[:header] == new[:header]
    changed = [n for n in range(256) if old[header + n * block:header + (n + 1) * block]
               != new[header + n * block:header + (n + 1) * block]]
    assert changed == [10]


def test_extended_attributes_do_not_pass_through_the_reverse_view(config, tmp_path):
    snapshot = write(tmp_path / "snap" / "tagged", b"data\n").parent
    os.setxattr(snapshot / "tagged", "user.colour", b"blue")
    with crypt.reverse_view(snapshot, config, PASSWORD) as view:
        assert {name: os.listxattr(view / name) for name in os.listdir(view)} == {
            name: [] for name in os.listdir(view)}


def test_a_block_changed_on_the_host_is_an_io_error_on_restore_not_wrong_data(config, tmp_path):
    write(tmp_path / "snap" / "letter", b"Dear friend,\n" * 1000)
    copy = tmp_path / "offsite"
    with crypt.reverse_view(tmp_path / "snap", config, PASSWORD) as view:
        rsync("-a", f"{view}/", copy)
    [ciphertext] = [p for p in copy.iterdir() if p.name != "gocryptfs.diriv"]
    tampered = bytearray(ciphertext.read_bytes())
    tampered[18 + 100] ^= 0x01
    ciphertext.write_bytes(bytes(tampered))
    with crypt.forward_view(copy, config, PASSWORD) as plain:
        with pytest.raises(OSError) as raised:
            (plain / "letter").read_bytes()
        assert raised.value.errno == errno.EIO


# -- the round trip ----------------------------------------------------------------------------

def awkward_tree(root: Path) -> Path:
    """Everything a home may hold that a copy could get subtly wrong."""
    old = 1_600_000_000
    write(root / "plain.txt", b"hello\n", old)
    write(root / "empty-file", b"", old)
    write(root / "name with spaces", b"spaces\n", old)
    write(root / "new\nline", b"newline in the name\n", old)
    write(root / "-leading-dash", b"dash\n", old)
    write(Path(os.fsdecode(os.fsencode(root) + b"/caf\xe9-latin1")), b"not UTF-8\n", old)
    write(root / ("long-" + "n" * 200), b"a name whose ciphertext is hashed\n", old)
    write(root / "private" / "key", b"0600\n", old).chmod(0o600)
    write(root / "bin" / "tool", b"#!/bin/sh\n", old).chmod(0o755)
    write(root / "large.bin", os.urandom(3 << 20) + b"\0" * (5 << 20), old)
    for folder in (root, root / "gocryptfs-names"):  # a user's files named like gocryptfs's own
        for name in (".gocryptfs.reverse.conf", "gocryptfs.conf", "gocryptfs.diriv", "gocryptfs.longname.x.name"):
            write(folder / name, f"a user's file called {name}\n".encode(), old)
    (root / "empty" / "deeper").mkdir(parents=True)
    (root / "links").mkdir()
    (root / "links" / "relative").symlink_to("../plain.txt")
    (root / "links" / "absolute").symlink_to("/etc/hostname")
    (root / "links" / "dangling").symlink_to("no such file")
    (root / "private").chmod(0o700)
    for folder in ("empty/deeper", "empty", "links", "private", "bin", "gocryptfs-names", "."):
        os.utime(root / folder, (old + 7, old + 7))
    return root


def test_a_round_trip_through_the_views_changes_nothing(config, tmp_path):
    original = awkward_tree(tmp_path / "snap")
    copy = tmp_path / "offsite"
    with crypt.reverse_view(original, config, PASSWORD) as view:
        rsync("-aH", f"{view}/", copy)
    with crypt.forward_view(copy, config, PASSWORD) as plain:
        differences = rsync("-aHni", "--delete", f"{plain}/", f"{original}/")
        assert differences == ""  # modes, mtimes, owners, links, empty folders, odd names: all equal
        assert (plain / "large.bin").read_bytes() == (original / "large.bin").read_bytes()


def test_the_restore_by_hand_in_the_docs_needs_gocryptfs_and_rsync_alone(config, tmp_path):
    """docs/offsite-encryption.md's commands, as a person runs them (gocryptfs daemonizes)."""
    original = awkward_tree(tmp_path / "snap")
    cipher, plain = tmp_path / "cipher", tmp_path / "plain"
    with crypt.reverse_view(original, config, PASSWORD) as view:
        rsync("-aH", "--numeric-ids", f"{view}/", cipher)
    plain.mkdir()
    mounted = subprocess.run(["gocryptfs", "-ro", "-config", config, cipher, plain], input=PASSWORD + b"\n",
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=60)
    try:
        assert mounted.returncode == 0
        assert rsync("-aHni", "--numeric-ids", "--delete", f"{plain}/", f"{original}/") == ""
    finally:
        subprocess.run(["fusermount3", "-u", plain], check=True)


# -- refusals ------------------------------------------------------------------------------------

def test_a_wrong_password_mounts_nothing_and_writes_nothing(config, tmp_path, temp):
    snapshot = secret_tree(tmp_path / "snap")
    config_before, tree_before = config.read_bytes(), tree_files(snapshot)
    with pytest.raises(crypt.WrongPassword) as raised:
        with crypt.reverse_view(snapshot, config, WRONG):
            pytest.fail("mounted with a wrong password")
    assert raised.value.exit_status == ExitStatus.USAGE and WRONG.decode() not in raised.value.message
    copy = tmp_path / "offsite"
    with crypt.reverse_view(snapshot, config, PASSWORD) as view:
        rsync("-a", f"{view}/", copy)
    with pytest.raises(crypt.WrongPassword):
        with crypt.forward_view(copy, config, WRONG):
            pass
    assert config.read_bytes() == config_before and tree_files(snapshot) == tree_before
    assert list(temp.iterdir()) == []  # no mount point left, nothing mounted


def test_a_copy_made_with_another_config_is_named_as_such(config, tmp_path, temp):
    other = tmp_path / "other" / "gocryptfs.conf"
    crypt.init_config(other, b"the other one")
    copy = tmp_path / "offsite"
    with crypt.reverse_view(secret_tree(tmp_path / "snap"), other, b"the other one") as view:
        rsync("-a", f"{view}/", copy)
    with pytest.raises(crypt.ConfigMismatch, match="made with another gocryptfs config") as raised:
        with crypt.forward_view(copy, config, PASSWORD):
            pytest.fail("a foreign copy was opened")
    assert raised.value.exit_status == ExitStatus.USAGE
    assert list(temp.iterdir()) == []


def test_a_stray_name_in_a_copy_does_not_stop_a_restore_of_the_rest(config, tmp_path):
    """Only a tree where nothing decrypts is another config's; one odd name (a damaged copy,
    a file the host added) hides that name alone, and verify against the manifest names it."""
    copy = tmp_path / "offsite"
    with crypt.reverse_view(secret_tree(tmp_path / "snap"), config, PASSWORD) as view:
        rsync("-a", f"{view}/", copy)
    write(copy / "QUJDREVGR0hJSktMTU5PUA", b"not made by gocryptfs\n")
    with crypt.forward_view(copy, config, PASSWORD) as plain:
        assert sorted(os.listdir(plain)) == ["Passwords", "holiday-photos"]


def test_a_config_gocryptfs_cannot_parse_is_a_usage_error_naming_it(fuse, tmp_path, temp):
    broken = write(tmp_path / "keys" / "gocryptfs.conf", b'{"Creator": "cut short')
    with pytest.raises(UsageError, match="gocryptfs cannot read this config") as raised:
        with crypt.reverse_view(secret_tree(tmp_path / "snap"), broken, PASSWORD):
            pytest.fail("mounted with a broken config")
    assert str(broken) in raised.value.message and raised.value.exit_status == ExitStatus.USAGE
    assert list(temp.iterdir()) == []


def test_a_folder_that_is_no_ciphertext_tree_is_named_as_such(config, tmp_path):
    plain = secret_tree(tmp_path / "snap")
    with pytest.raises(UsageError, match="not a gocryptfs ciphertext tree") as raised:
        with crypt.forward_view(plain / "Passwords", config, PASSWORD):
            pytest.fail("a plaintext folder was mounted as ciphertext")
    assert str(plain / "Passwords") in raised.value.message


def test_the_key_fingerprint_tells_configs_apart_and_survives_a_password_change(config, tmp_path):
    other = tmp_path / "other" / "gocryptfs.conf"
    crypt.init_config(other, PASSWORD)  # the same password, another master key
    mine = crypt.key_fingerprint(config, PASSWORD)
    assert mine == crypt.key_fingerprint(config, PASSWORD) != crypt.key_fingerprint(other, PASSWORD)
    config.chmod(0o600)
    changed = subprocess.run(["gocryptfs", "-passwd", "-q", "-config", config, tmp_path],
                             input=PASSWORD + b"\n" + WRONG + b"\n", capture_output=True)
    assert changed.returncode == 0, changed.stderr
    assert crypt.key_fingerprint(config, WRONG) == mine
    with pytest.raises(crypt.WrongPassword):
        crypt.key_fingerprint(config, PASSWORD)


def test_without_gocryptfs_the_error_says_what_to_install(config, tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path / "empty-path"))
    with pytest.raises(crypt.CryptUnavailable, match="install the Debian packages gocryptfs and fuse3"):
        with crypt.reverse_view(tmp_path, config, PASSWORD):
            pass


# -- the view's end -------------------------------------------------------------------------------

def test_the_view_is_gone_after_the_block_and_after_an_exception_in_it(config, tmp_path, monkeypatch):
    monkeypatch.setattr(crypt, "UNMOUNT_SECONDS", 1.0)  # the busy view below: detached after 1 s
    monkeypatch.setattr(crypt, "STOP_SECONDS", 0.5)
    snapshot = secret_tree(tmp_path / "snap")
    with crypt.reverse_view(snapshot, config, PASSWORD) as view:
        assert crypt.is_mounted(view) and our_gocryptfs(view)
    assert not crypt.is_mounted(view) and not view.exists() and not our_gocryptfs(view)
    with pytest.raises(RuntimeError, match="inside"):
        with crypt.reverse_view(snapshot, config, PASSWORD) as view:
            busy = open(next(p for p in view.rglob("*") if p.is_file()), "rb")  # an open file: busy
            raise RuntimeError("inside")
    with pytest.raises(OSError):  # detached lazily, then gocryptfs ended: the handle is dead
        busy.close()
    assert not crypt.is_mounted(view) and not view.exists() and not our_gocryptfs(view)


def test_a_ctrl_c_while_the_view_is_being_mounted_leaves_nothing_mounted_or_running(fuse, tmp_path, temp):
    """gocryptfs is still deriving its key (scrypt at its real cost, ~0.3 s) when the interrupt
    comes: it must not go on to mount a view nobody will ever unmount."""
    config = tmp_path / "keys" / "gocryptfs.conf"
    crypt.init_config(config, PASSWORD)

    def interrupt(_signum, _frame):
        raise KeyboardInterrupt()

    previous = signal.signal(signal.SIGALRM, interrupt)
    try:
        signal.setitimer(signal.ITIMER_REAL, 0.05)
        with pytest.raises(KeyboardInterrupt):
            with crypt.reverse_view(secret_tree(tmp_path / "snap"), config, PASSWORD):
                pytest.fail("the interrupt came after the mount; this test proves nothing")
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
    left = list(temp.iterdir())
    assert left == [], f"{left} left behind (mounted: {[crypt.is_mounted(p) for p in left]})"
    # An interrupt inside Popen itself leaves gocryptfs unowned: its stdin closes, it reads no
    # password and ends by itself (never mounting: its mount point is gone) within moments.
    ours = lambda cmdline: cmdline.startswith(b"gocryptfs\0") and str(tmp_path).encode() in cmdline  # noqa: E731
    deadline = time.monotonic() + 10
    while pids_where(ours) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not pids_where(ours)


def test_mount_points_left_by_a_killed_run_are_swept_by_the_next_view(config, tmp_path, temp):
    """A travelsync killed outright (SIGKILL) leaves an empty mount point; the next view removes
    those older than STALE_SECONDS, never a fresh one (another run's, about to be mounted) nor
    one that holds anything."""
    stale, fresh, kept = temp / "travelsync-crypt-stale", temp / "travelsync-crypt-fresh", temp / "travelsync-crypt-kept"
    for folder in (stale, fresh, kept):
        folder.mkdir()
    write(kept / "something", b"not ours to remove\n")
    two_hours_ago = time.time() - 7200
    for folder in (stale, kept):
        os.utime(folder, (two_hours_ago, two_hours_ago))
    with crypt.reverse_view(secret_tree(tmp_path / "snap"), config, PASSWORD):
        pass
    assert sorted(p.name for p in temp.iterdir()) == ["travelsync-crypt-fresh", "travelsync-crypt-kept"]


HOLDER = textwrap.dedent("""
    import sys, time
    from pathlib import Path
    from travelsync.cli.lazy import _stop_handlers
    from travelsync.offsite import crypt
    _stop_handlers()
    with crypt.reverse_view(Path(sys.argv[1]), Path(sys.argv[2]), sys.argv[3].encode()) as view:
        print(view, flush=True)
        time.sleep(60)
""")


@pytest.mark.parametrize("stop", [signal.SIGTERM, signal.SIGKILL])
def test_a_travelsync_stopped_by_sigterm_or_killed_leaves_no_view_mounted(config, tmp_path, stop):
    """SIGTERM unwinds the block (cli/lazy.py's handler); SIGKILL leaves gocryptfs its
    parent-death signal, on which it unmounts itself."""
    snapshot = secret_tree(tmp_path / "snap")
    holder = subprocess.Popen([sys.executable, "-c", HOLDER, snapshot, config, PASSWORD.decode()],
                              stdout=subprocess.PIPE)  # (a test's password on argv; travelsync never does this)
    view = Path(holder.stdout.readline().decode().strip())
    assert crypt.is_mounted(view)
    holder.send_signal(stop)
    holder.wait(timeout=30)
    deadline = time.monotonic() + 10
    while (crypt.is_mounted(view) or our_gocryptfs(view)) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not crypt.is_mounted(view) and not our_gocryptfs(view)
    if stop == signal.SIGTERM:
        assert not view.exists()
    else:  # the mount point (an empty private folder) is left; nothing is mounted on it
        view.rmdir()


def test_a_temporary_folder_reached_through_a_symlink_still_mounts(config, tmp_path, monkeypatch):
    """The kernel's mount table names the real path; TMPDIR may be a symlink to it."""
    (tmp_path / "real-temp").mkdir()
    (tmp_path / "linked-temp").symlink_to(tmp_path / "real-temp")
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path / "linked-temp"))
    monkeypatch.setattr(crypt, "MOUNT_SECONDS", 10.0)
    with crypt.reverse_view(secret_tree(tmp_path / "snap"), config, PASSWORD) as view:
        assert crypt.is_mounted(view) and len(os.listdir(view)) == 3  # two folders and gocryptfs.diriv
    assert list((tmp_path / "real-temp").iterdir()) == []


def test_a_gocryptfs_that_died_under_the_view_is_still_unmounted_when_the_block_ends(config, tmp_path):
    with pytest.raises(OSError):
        with crypt.reverse_view(secret_tree(tmp_path / "snap"), config, PASSWORD) as view:
            [pid] = our_gocryptfs(view)
            os.kill(pid, signal.SIGKILL)
            time.sleep(0.2)
            os.listdir(view)  # ENOTCONN: the file system's server is gone, the mount is not
    assert not crypt.is_mounted(view) and not view.exists() and not our_gocryptfs(view)


def test_the_encryption_benchmark_measures_every_step(fuse, tmp_path):
    """benchmarks/crypt_view.py at its smallest: every step timed for both, the ratio printed."""
    out = tmp_path / "results.json"
    done = subprocess.run([sys.executable, str(REPO_ROOT / "benchmarks" / "crypt_view.py"), "--files", "60",
                           "--size", "1M", "--rounds", "1", "--json", out], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    seconds = json.loads(out.read_text())["seconds"]
    for kind in ("plain", "encrypted"):
        assert all(seconds[kind][step] > 0 for step in ("first copy", "unchanged", "1% changed"))
    assert len([line for line in done.stdout.splitlines() if line.startswith("| ") and " × |" in line]) == 3
    assert json.loads(out.read_text())["mount_seconds"] > 0 and "mounting and unmounting a view" in done.stdout
