"""Whose repository is it (repository/trust.py): the pure rule over a made-up file system."""

import stat
from types import SimpleNamespace

from travelsync.repository import layout
from travelsync.repository.trust import problem

ME, OTHER = 1000, 1001
TRUSTED = frozenset({0, ME})
NAMES = {0: "root", ME: "me", OTHER: "eve"}


def folder(mode, uid=0):
    return SimpleNamespace(st_mode=stat.S_IFDIR | mode, st_uid=uid)


def link(target, uid=0):
    return SimpleNamespace(st_mode=stat.S_IFLNK | 0o777, st_uid=uid, target=target)


def check(path, tree):
    def lstat(p):
        if p not in tree:
            raise FileNotFoundError(p)
        return tree[p]

    return problem(path, TRUSTED, lstat=lstat, readlink=lambda p: tree[p].target, owner=NAMES.get)


BASE = {"/": folder(0o755), "/srv": folder(0o755), "/srv/repo": folder(0o700, ME), "/tmp": folder(0o1777)}


def test_a_repository_of_ours_under_roots_folders_is_trusted():
    assert check("/srv/repo", BASE) is None


def test_the_repository_folder_must_be_ours_or_roots_and_closed_to_others():
    assert check("/srv/repo", {**BASE, "/srv/repo": folder(0o700, OTHER)}) == \
        "/srv/repo belongs to owner eve (uid 1001), mode 0700, not to you or root"
    assert check("/srv/repo", {**BASE, "/srv/repo": folder(0o770, ME)}) == \
        "/srv/repo is writable by other users (owner me (uid 1000), mode 0770)"
    assert "is writable by other users" in check("/srv/repo", {**BASE, "/srv/repo": folder(0o1777, ME)})


def test_a_folder_above_that_another_user_owns_or_may_write_in_is_refused():
    assert check("/srv/repo", {**BASE, "/srv": folder(0o755, OTHER)}) == \
        "/srv belongs to owner eve (uid 1001), mode 0755, not to you or root"
    assert check("/srv/repo", {**BASE, "/srv": folder(0o775)}) == \
        "/srv is writable by other users (owner root (uid 0), mode 0775)"


def test_a_sticky_folder_above_is_fine_when_the_entry_we_pass_is_ours():
    tree = {**BASE, "/tmp/repo": folder(0o700, ME)}
    assert check("/tmp/repo", tree) is None
    tree["/tmp/repo"] = folder(0o700, OTHER)
    assert check("/tmp/repo", tree).startswith("/tmp/repo belongs to owner eve (uid 1001), mode 0700, in /tmp, "
                                               "which other users may write in")


def test_a_missing_repository_is_fine_unless_anyone_could_make_it_where_it_cannot_be_checked_again():
    assert check("/tmp/new/repo", BASE) is None  # made by travelsync, then checked again
    assert check("/srv/new", BASE) is None
    assert "is writable by other users" in check("/open/new", {**BASE, "/open": folder(0o777)})


def test_symlinks_on_the_way_are_followed_and_held_to_the_same_rule():
    tree = {**BASE, "/backup": link("/srv/repo")}
    assert check("/backup", tree) is None
    tree = {**BASE, "/tmp/backup": link("/srv/repo", uid=OTHER)}
    assert "/tmp/backup belongs to owner eve" in check("/tmp/backup", tree)
    tree = {**BASE, "/backup": link("/srv/open"), "/srv/open": folder(0o777)}
    assert "/srv/open is writable by other users" in check("/backup", tree)


def test_a_file_is_no_repository():
    tree = {**BASE, "/srv/file": SimpleNamespace(st_mode=stat.S_IFREG | 0o600, st_uid=ME)}
    assert check("/srv/file", tree) == "/srv/file is not a folder"


def test_the_names_that_are_never_symlinks():
    names = layout.never_links(["20261122T023000Z-full"], ["x"], ["20261122T023000Z-full"])
    assert "latest" not in names
    assert {"lock", "runs.json", "snapshots", "partial", "travelsync.repo", "snapshots/20261122T023000Z-full",
            "partial/x", "partial/x/data", "snapshots/20261122T023000Z-full/snapshot.json", "readers",
            "readers/20261122T023000Z-full"} <= set(names)
