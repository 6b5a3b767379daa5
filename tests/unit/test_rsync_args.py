"""rsync argument lists (pure): flags, excludes, link-dest, protection of odd names, ssh."""

from pathlib import Path

from travelsync.config.model import RsyncSettings, Source, SshConfig
from travelsync.location import Location, parse_location
from travelsync.rsync.args import backup_args, change_check_args, common_args, source_spec
from travelsync.rsync.stats import ITEM, Stats, failed_file, vanished_name
from travelsync.rsync.run import _LineSplitter, _parse_progress

SETTINGS = RsyncSettings(extra_args=("--bwlimit=20M",))
SSH = SshConfig(port=2222, identity=Path("/keys/id"), options=("-o", "UserKnownHostsFile=/k/known"))


def test_common_args_local_has_archive_flags_and_no_ssh():
    argv = common_args(SETTINGS, SSH, remote=False)
    assert argv[0] == "rsync"
    for flag in ("-aHAX", "--numeric-ids", "-s", "--stats", "--info=progress2", "--itemize-changes"):
        assert flag in argv
    assert "-e" not in argv
    assert argv[-1] == "--bwlimit=20M"  # the user's extra arguments come last


def test_common_args_leave_out_acls_and_xattrs_only_when_asked():
    assert "-aHAX" in common_args(SETTINGS, SSH, remote=False, attributes=True)
    argv = common_args(SETTINGS, SSH, remote=False, attributes=False)
    assert "-aH" in argv and not any(a.startswith("-a") and ("A" in a or "X" in a) for a in argv)


def test_common_args_remote_carries_the_ssh_settings():
    argv = common_args(SETTINGS, SSH, remote=True)
    rsh = argv[argv.index("-e") + 1]
    assert rsh.startswith("ssh -o BatchMode=yes") and "-p 2222" in rsh and "-i /keys/id" in rsh
    assert "UserKnownHostsFile=/k/known" in rsh and "StrictHostKeyChecking=no" not in rsh


def test_full_backup_has_no_link_dest_and_ends_with_protected_paths():
    source = Source("home", Path("/home/-marc:x"), exclude=("-weird*", ".cache/"))
    argv = backup_args(SETTINGS, SSH, source, Location("/repo/partial/ID/data/home"))
    assert not any(a.startswith("--link-dest") for a in argv)
    assert {"--delete", "--partial", "--delete-excluded"} <= set(argv)
    assert "--exclude=-weird*" in argv and "--exclude=.cache/" in argv
    assert argv[-3:] == ["--", "/home/-marc:x/", "/repo/partial/ID/data/home/"]


def test_incremental_links_to_the_previous_snapshot_and_remote_destination():
    source = Source("home", Path("/home/marc"), one_file_system=True)
    destination = parse_location("backup@nas:/srv/repo").child("partial", "ID", "data", "home")
    argv = backup_args(SETTINGS, SSH, source, destination, link_dest="/srv/repo/snapshots/OLD/data/home")
    assert "--link-dest=/srv/repo/snapshots/OLD/data/home" in argv
    assert "--one-file-system" in argv and "-e" in argv
    assert argv[-1] == "backup@nas:/srv/repo/partial/ID/data/home/"
    assert argv.index("--") == len(argv) - 3


def test_dry_run_and_change_check():
    source = Source("home", Path("/home/marc"), exclude=("*.tmp",))
    argv = backup_args(SETTINGS, SSH, source, Location("/r"), dry_run=True)
    assert "--dry-run" in argv
    check = change_check_args(SETTINGS, SSH, source, Location("/r/snapshots/X/data/home"))
    assert "--dry-run" in check and "--delete" in check and "--exclude=*.tmp" in check
    assert "--info=progress2" not in check and "--stats" not in check
    assert check[-2:] == ["/home/marc/", "/r/snapshots/X/data/home/"]


def test_relative_source_gets_dot_slash():
    assert source_spec("-rf") == "./-rf/"
    assert source_spec("/a/b/") == "/a/b/"


def test_stats_parse_and_item_lines():
    stats = Stats()
    for line in ["Number of files: 6 (reg: 3, dir: 2, link: 1)", "Number of regular files transferred: 2",
                 "Total file size: 1,234,567 bytes", "Literal data: 4,000 bytes", "Matched data: 7 bytes",
                 "Total bytes sent: 258", "sent 258 bytes  received 101 bytes"]:
        stats.absorb(line)
    assert (stats.files, stats.regular_files, stats.files_transferred) == (6, 3, 2)
    assert (stats.total_size, stats.literal_data, stats.matched_data, stats.bytes_sent) == (1234567, 4000, 7, 258)
    assert ITEM.match(">f+++++++++ -dash").group("name") == "-dash"
    assert ITEM.match("*deleting   old file").group("name") == "old file"
    assert ITEM.match("Number of files: 6") is None
    assert vanished_name('file has vanished: "/home/x y"') == "/home/x y"
    assert failed_file('rsync: [sender] send_files failed to open "/h/secret": Permission denied (13)') == \
        "/h/secret (Permission denied)"


def test_progress_lines_split_on_carriage_returns():
    lines = []
    splitter = _LineSplitter(lambda line, cr: lines.append((line, cr)))
    splitter.feed(b"\r      1,234  12%    1.00MB/s    0:00:03 (xfr#1, to")
    splitter.feed(b"-chk=4/6)\r>f+++++++++ a\xffb\n")
    splitter.close()
    assert lines[0][1] is True and lines[1] == (">f+++++++++ a\ufffdb", False)
    progress = _parse_progress(lines[0][0])
    assert (progress.bytes, progress.percent, progress.transferred, progress.to_check, progress.total) == \
        (1234, 12, 1, 4, 6)


def test_backup_listing_asks_rsync_for_every_file_with_its_xxh128():
    source = Source("home", Path("/home/m"))
    argv = backup_args(SETTINGS, SSH, source, Location("/repo/partial/ID/data/home"), listing=True, progress=False)
    assert {"-ii", "--out-format=%i %l %C %n%L", "--checksum-choice=xxh128"} <= set(argv)
    assert "--itemize-changes" not in argv and "--info=progress2" not in argv
    assert argv[-3:] == ["--", "/home/m/", "/repo/partial/ID/data/home/"]


def test_checksum_listing_is_a_dry_run_into_nowhere_and_reads_names_from_a_file():
    from travelsync.rsync.args import checksum_args

    argv = checksum_args(SETTINGS, SSH, parse_location("u@nas:/repo/snapshots/S/data"), "/tmp/x/nowhere",
                         files_from="/tmp/x/names")
    assert {"-c", "-n", "--checksum-choice=xxh128", "--from0", "--files-from=/tmp/x/names"} <= set(argv)
    assert "-e" in argv and argv[-3:] == ["--", "u@nas:/repo/snapshots/S/data/", "/tmp/x/nowhere/"]


def test_line_splitter_hands_over_progress_lines_before_their_newline():
    seen = []
    splitter = _LineSplitter(lambda line, cr: seen.append((line, cr)), raw=True)
    for chunk in (b"  1,024  10%\r  2,0", b"48  20%\r>f+++++++++ 1 ", b"x name\nrest"):
        splitter.feed(chunk)
    assert seen == [(b"  1,024  10%", True), (b"  2,048  20%", True), (b">f+++++++++ 1 x name", False)]
    splitter.close()
    assert seen[-1] == (b"rest", False)


def test_every_ssh_has_a_bounded_silence_and_rsync_a_backstop_timeout():
    from travelsync.location import ssh_argv

    ssh = SshConfig(connect_timeout=7, alive_interval=5, alive_count=3)
    argv = ssh_argv(ssh, "nas")
    assert "ConnectTimeout=7" in argv and "ServerAliveInterval=5" in argv and "ServerAliveCountMax=3" in argv
    assert argv.index("ConnectTimeout=7") < len(argv) - 1 and argv[-1] == "nas"
    remote = common_args(SETTINGS, ssh, remote=True)
    assert "--timeout=45" in remote  # ssh's 15 s of silence first, rsync's own bound behind it
    assert not any(a.startswith("--timeout") for a in common_args(SETTINGS, ssh, remote=False))
    check = change_check_args(SETTINGS, ssh, Source("home", Path("/h")), parse_location("nas:/repo/x"))
    assert "--timeout=45" in check


def test_rsync_per_file_errors_are_named_with_their_reason():
    assert failed_file('rsync: [sender] opendir "/h/closed" failed: Permission denied (13)') == \
        "/h/closed (Permission denied)"
    assert failed_file('rsync: [sender] send_files failed to open "/h/secret": Permission denied (13)') == \
        "/h/secret (Permission denied)"
    assert failed_file('rsync: [receiver] mkstemp "/r/d/.long.AbC" failed: File name too long (36)') == \
        "/r/d/.long.AbC (File name too long)"
    assert failed_file('rsync: [sender] readlink_stat("/h/x") failed: File name too long (36)') == \
        "/h/x (File name too long)"
    assert failed_file("rsync error: some files/attrs were not transferred (code 23)") is None


def test_rsync_name_max_and_path_max_errors_are_named_with_their_reason():
    """The lines rsync 3.5.0 prints for a name longer than the target's NAME_MAX and a path
    longer than PATH_MAX in the source (tests/integration/test_failed_files.py gets them)."""
    assert failed_file('rsync: [generator] recv_generator: mkdir "/r/p/DDD" failed: File name too long (36)') == \
        "/r/p/DDD (File name too long)"
    assert failed_file('rsync: [generator] recv_generator: failed to stat "/r/p/f.txt": File name too long (36)') \
        == "/r/p/f.txt (File name too long)"
    assert failed_file("filename overflows max-path len by 171: d00x/d01x") == \
        "d00x/d01x (path longer than PATH_MAX, by 171 bytes)"
