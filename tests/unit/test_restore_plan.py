"""Restore planning (pure): path rules, grouping, rsync arguments, displaced names, sync-back split."""

from pathlib import PurePosixPath

import pytest

from travelsync.config import parse_config
from travelsync.errors import UsageError
from travelsync.restore import arguments, displaced, selection
from travelsync.trip.sync_back import classify

CONFIG = parse_config("repository: /r\nsources:\n  - {name: home, path: /home/marc}\n  - {name: etc, path: /etc}\n"
                      "laptop: {root: /laptop, paths: [home/Mail]}\n")


def test_path_maps_to_source_and_inside():
    path = selection.parse_path("home/Mail/cur/", ["home", "etc"])
    assert (path.text, path.source_name, path.inside) == ("home/Mail/cur", "home", PurePosixPath("Mail/cur"))
    assert selection.parse_path("home", ["home"]).inside == PurePosixPath(".")
    assert selection.parse_path("./home/./src", ["home"]).inside == PurePosixPath("src")


@pytest.mark.parametrize("text, words", [
    ("home/../etc/passwd", "'..'"), ("home/Mail/../../x", "'..'"), ("/home/Mail", "absolute"),
    ("work/Mail", "does not start with a source name (sources: home, etc)"), ("", "empty"),
    ("..", "'..'"),
])
def test_bad_paths_are_usage_errors_that_say_why(text, words):
    with pytest.raises(UsageError) as raised:
        selection.parse_path(text, ["home", "etc"])
    assert words in raised.value.message


def test_groups_follow_config_order_and_drop_nested_and_duplicate_paths():
    selected = [selection.parse_path(t, ["home", "etc"]) for t in
                ("etc/hosts", "home/Mail/cur", "home/src", "home/Mail", "home/src", "home/Mailbox")]
    groups = selection.group_paths(selected, CONFIG.sources)
    assert [g.source_name for g in groups] == ["home", "etc"]
    assert groups[0].insides == (PurePosixPath("Mail"), PurePosixPath("Mailbox"), PurePosixPath("src"))
    whole = selection.group_paths([selection.parse_path(t, ["home"]) for t in ("home/x", "home")], CONFIG.sources)
    assert whole[0].insides == (PurePosixPath("."),)


def test_target_folder_recreates_home_path_under_root():
    group = selection.select(["home/Mail"], CONFIG)[0]
    assert group.target_folder("/laptop") == "/laptop/home/marc"
    assert group.target_folder("/") == "/home/marc"


def test_select_without_paths_says_where_to_add_them():
    with pytest.raises(UsageError, match="laptop.paths"):
        selection.select([], CONFIG)


def test_displaced_folder_is_under_root_unless_absolute():
    assert selection.displaced_folder("/laptop", ".travelsync-displaced", "T") == "/laptop/.travelsync-displaced/T"
    assert selection.displaced_folder("/laptop", "/var/keep", "T") == "/var/keep/T"
    with pytest.raises(UsageError):
        selection.displaced_folder("/laptop", "../out", "T")


def test_displaced_folder_inside_a_restored_path_is_refused():
    groups = selection.select(["home/Mail"], CONFIG)
    selection.check_displaced_outside(groups, "/laptop", "/laptop/.travelsync-displaced/T")
    with pytest.raises(UsageError, match="inside the restored path"):
        selection.check_displaced_outside(groups, "/laptop", "/laptop/home/marc/Mail/.displaced/T")
    whole = selection.select(["home"], CONFIG)
    with pytest.raises(UsageError):
        selection.check_displaced_outside(whole, "/laptop", "/laptop/home/marc/.d/T")


def test_restore_argv_limits_deletion_to_selected_paths_and_moves_aside_under_root():
    argv = arguments.restore_argv(
        ["rsync", "-aHAX", "-s"], data_spec="/r/snapshots/S/data/home", insides=[PurePosixPath("Mail"),
                                                                               PurePosixPath("-odd name")],
        destination_spec="me@lap:/laptop/home/marc", displaced_folder="/laptop/.travelsync-displaced/T",
        source_path="/home/marc", extra=["--bwlimit=10"])
    separator = argv.index("--")
    options, operands = argv[:separator], argv[separator + 1:]
    assert {"--relative", "--delete-before", "--mkpath", "--backup"} <= set(options)
    assert "--backup-dir=/laptop/.travelsync-displaced/T/home/marc" in options
    assert options[-1] == "--bwlimit=10" and "--dry-run" not in options
    assert operands == ["/r/snapshots/S/data/home/./Mail", "/r/snapshots/S/data/home/./-odd name",
                        "me@lap:/laptop/home/marc/"]
    assert argv.count("-s") == 1 and "--protect-args" not in argv


def test_restore_argv_whole_source_and_dry_run():
    argv = arguments.restore_argv(["rsync"], data_spec="/r/d/home/", insides=[PurePosixPath(".")],
                                  destination_spec="/l/home/marc/", displaced_folder="/l/.d/T",
                                  source_path="/home/marc", dry_run=True)
    assert argv[-2:] == ["/r/d/home/./", "/l/home/marc/"]
    assert "--dry-run" in argv and "--protect-args" in argv


def test_rsync_temporary_names_are_recognised_only_beside_their_file():
    existing = {"Mail/cur/1", "notes/a.md"}
    assert displaced.is_rsync_temporary("Mail/cur/.1.AbC123", existing)
    assert not displaced.is_rsync_temporary("Mail/cur/.2.AbC123", existing)
    assert not displaced.is_rsync_temporary("notes/.a.md.swp", existing)
    assert not displaced.is_rsync_temporary("Mail/cur/1", existing)


def test_sync_back_keeps_both_when_home_changed_too():
    changed = ["new-on-laptop", "only-laptop-changed", "both-changed", "home-deleted", "home-created"]
    basis = {"only-laptop-changed": (3, 10), "both-changed": (3, 10), "home-deleted": (3, 10)}
    home = {"only-laptop-changed": (3, 10), "both-changed": (4, 11), "home-created": (1, 1)}
    copy, conflicts = classify(changed, home, basis, same=lambda path: True)
    assert copy == ["new-on-laptop", "only-laptop-changed"]
    assert conflicts == ["both-changed", "home-deleted", "home-created"]
    copy, conflicts = classify(["only-laptop-changed"], home, basis, same=lambda path: False)
    assert conflicts == ["only-laptop-changed"]
