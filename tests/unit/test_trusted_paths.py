"""When rsync may skip its symlink-race walk: the pure path check over a made-up file system,
and where the option lands in rsync's argv."""

import stat
from pathlib import Path
from types import SimpleNamespace

import pytest

from travelsync.config.model import RsyncSettings, Source, SshConfig
from travelsync.location import Location
from travelsync.rsync.args import backup_args, change_check_args, common_args
from travelsync.rsync.trusted_paths import OPTION, closed, names_a_path

ME, OTHER = 1000, 1001
TRUSTED = frozenset({0, ME})


def folder(mode, uid=0):
    return SimpleNamespace(st_mode=stat.S_IFDIR | mode, st_uid=uid)


def link(target, uid=0):
    return SimpleNamespace(st_mode=stat.S_IFLNK | 0o777, st_uid=uid, target=target)


def check(path, tree):
    """closed() over `tree` ({path: stat-like}); anything not in it is missing."""
    def lstat(p):
        if p not in tree:
            raise FileNotFoundError(p)
        return tree[p]

    return closed(path, TRUSTED, lstat=lstat, readlink=lambda p: tree[p].target)


BASE = {"/": folder(0o755), "/home": folder(0o755), "/home/me": folder(0o700, ME),
        "/home/me/repo": folder(0o755, ME), "/home/me/repo/snapshots": folder(0o755, ME)}


def test_a_path_under_a_private_folder_of_ours_is_closed():
    assert check("/home/me/repo/snapshots", BASE) is None


def test_a_path_anyone_can_reach_is_not():
    tree = {**BASE, "/home/me": folder(0o755, ME)}
    assert "can be reached by other users" in check("/home/me/repo/snapshots", tree)


def test_a_folder_of_another_user_on_the_way_is_not():
    tree = {**BASE, "/home": folder(0o755, OTHER)}
    assert check("/home/me/repo", tree) == "/home is owned by uid 1001"


def test_another_users_private_folder_is_no_shelter():
    tree = {**BASE, "/home/me": folder(0o700, OTHER)}
    assert check("/home/me/repo", tree) == "/home/me is owned by uid 1001"


def test_a_world_writable_folder_on_the_way_is_not():
    tree = {**BASE, "/home": folder(0o777)}
    assert check("/home/me/repo", tree) == "/home is writable by other users"


def test_a_sticky_folder_is_fine_when_the_name_we_pass_is_ours_not_when_it_is_theirs():
    tree = {"/": folder(0o755), "/tmp": folder(0o1777), "/tmp/mine": folder(0o700, ME)}
    assert check("/tmp/mine/repo", tree) is None  # missing tail: rsync creates it inside a private folder
    tree["/tmp/mine"] = folder(0o700, OTHER)
    assert check("/tmp/mine/repo", tree) == "/tmp is writable by other users"


def test_a_missing_tail_outside_any_private_folder_is_not_closed():
    tree = {"/": folder(0o755), "/srv": folder(0o755)}
    assert "rsync would create /srv/backup there" in check("/srv/backup/repo", tree)


def test_symlinks_are_followed_only_when_root_or_we_own_them():
    tree = {**BASE, "/backup": link("/home/me/repo")}
    assert check("/backup/snapshots", tree) is None
    tree["/backup"] = link("/home/me/repo", uid=OTHER)
    assert check("/backup/snapshots", tree) == "/backup is a symlink owned by uid 1001"


def test_a_symlink_out_of_the_private_folder_loses_its_shelter():
    tree = {**BASE, "/srv": folder(0o755), "/srv/data": folder(0o755, ME),
            "/home/me/repo/out": link("/srv/data", uid=ME)}
    assert "can be reached by other users" in check("/home/me/repo/out", tree)
    tree["/home/me/repo/up"] = link("../repo", uid=ME)  # relative: stays under /home/me
    assert check("/home/me/repo/up", tree) is None


def test_a_symlink_loop_ends():
    tree = {**BASE, "/a": link("/b"), "/b": link("/a")}
    assert "too many symlinks" in check("/a/x", tree)


def test_a_file_in_the_middle_of_the_path_is_not_a_folder():
    tree = {**BASE, "/home/me/file": SimpleNamespace(st_mode=stat.S_IFREG | 0o600, st_uid=ME)}
    assert check("/home/me/file/x", tree) == "/home/me/file is not a folder"


def test_relative_paths_are_refused():
    assert "not an absolute path" in check("repo", BASE)


SETTINGS = RsyncSettings(extra_args=("--no-insecure-links",))
SOURCE = Source("home", Path("/home/me"))


def test_the_option_comes_only_for_closed_paths_and_before_the_users_extra_arguments():
    argv = common_args(SETTINGS, SshConfig(), remote=False, closed_paths=True)
    assert argv.index(OPTION) < argv.index("--no-insecure-links")  # the user can take it back
    assert OPTION not in common_args(SETTINGS, SshConfig(), remote=False)
    dest = Location("/repo/partial/X/data/home")
    assert OPTION in backup_args(SETTINGS, SshConfig(), SOURCE, dest, link_dest="/repo/s/P", closed_paths=True)
    assert OPTION not in backup_args(SETTINGS, SshConfig(), SOURCE, dest, link_dest="/repo/s/P")
    check_argv = change_check_args(SETTINGS, SshConfig(), SOURCE, dest, closed_paths=True)
    assert check_argv.index(OPTION) < check_argv.index("--")


def test_a_folder_the_transfer_rewrites_cannot_be_its_own_shelter():
    """A restore of a whole source sets the laptop folder's mode from the snapshot: 0700 now may
    be 0755 a moment later, with the walk off (issue 15, finding 2)."""
    tree = {"/": folder(0o755), "/laptop": folder(0o755), "/laptop/home": folder(0o700)}

    def closed_here(rewritten):
        return closed("/laptop/home", TRUSTED, rewritten=rewritten, lstat=lambda p: tree[p],
                      readlink=lambda p: tree[p].target)

    assert closed_here(False) is None
    assert "no folder above it keeps other users out" in closed_here(True)
    tree["/laptop"] = folder(0o700)  # a private folder above: whatever happens to home's mode
    assert closed_here(True) is None


@pytest.mark.parametrize("extra", [
    ["--log-file=/tmp/rsync.log"], ["--log-file", "/tmp/rsync.log"], ["--temp-dir=/tmp/t"], ["-T", "/tmp/t"],
    ["-vT/tmp/t"], ["--partial-dir=.p"], ["--exclude-from=/tmp/x"], ["--include-from=/tmp/x"],
    ["--files-from=/tmp/x"], ["--filter=merge /tmp/rules"], ["-f", ". /tmp/rules"], ["-F"],
    ["--compare-dest=/x"], ["--copy-dest=/x"], ["--link-dest=/x"], ["--backup-dir=/x"], ["--password-file=/x"],
    ["--write-batch=/x"], ["--only-write-batch=/x"], ["--read-batch=/x"], ["--early-input=/x"],
    ["-M--log-file=/x"], ["--remote-option=--temp-dir=/x"]])
def test_extra_arguments_naming_a_path_keep_rsyncs_walk(extra):
    settings = RsyncSettings(extra_args=tuple(extra))
    assert names_a_path(extra) == extra[0]
    assert OPTION not in common_args(settings, SshConfig(), remote=False, closed_paths=True)
    dest = Location("/repo/partial/X/data/home")
    assert OPTION not in change_check_args(settings, SshConfig(), SOURCE, dest, closed_paths=True)


@pytest.mark.parametrize("extra", [[], ["--bwlimit=20M"], ["-z"], ["--exclude=*.tmp"], ["--chmod=F600"],
                                   ["--timeout", "60"], ["-vz"]])
def test_extra_arguments_naming_no_path_leave_the_fast_walk(extra):
    assert names_a_path(extra) is None
    settings = RsyncSettings(extra_args=tuple(extra))
    assert OPTION in common_args(settings, SshConfig(), remote=False, closed_paths=True)
