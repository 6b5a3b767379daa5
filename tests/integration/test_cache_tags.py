"""Folders that say "leave me out", with the real rsync: a valid CACHEDIR.TAG (signature
checked) and exclude_if_present markers. The marker is kept, the rest of its folder is not;
a tag with a wrong signature, a short one, a symlinked one or a FIFO is not honoured."""

import os

import pytest
import yaml

from tests.conftest import need_programs
from travelsync.backup.cache_tags import SIGNATURE, is_cache_tag, rules_for, tagged_folders

pytestmark = pytest.mark.timeout(120)
TAG = SIGNATURE + b"\n# This file is a cache directory tag created by (application name).\n"


def files_under(root) -> set[str]:
    root = os.fsencode(root)
    return {os.fsdecode(os.path.relpath(os.path.join(folder, name), root))
            for folder, dirs, names in os.walk(root) for name in names + [d for d in dirs if os.path.islink(os.path.join(folder, d))]}


def build(source):
    def put(rel, data=b"data"):
        path = source / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)

    put("cache/CACHEDIR.TAG", TAG)
    put("cache/blob")
    put("cache/deep/.hidden")
    put("x/cache/kept")  # a folder of the same name deeper: not tagged, kept
    put("fake/CACHEDIR.TAG", b"Signature: 00000000000000000000000000000000\n")
    put("fake/kept")
    put("short/CACHEDIR.TAG", SIGNATURE[:-1])
    put("short/kept")
    put("linked/kept")
    os.symlink("../cache/CACHEDIR.TAG", source / "linked" / "CACHEDIR.TAG")
    put("fifo/kept")
    os.mkfifo(source / "fifo" / "CACHEDIR.TAG")
    put("we*ird[1]\\dir/CACHEDIR.TAG", TAG)
    put("we*ird[1]\\dir/blob")
    put("weird/blob")  # what an unescaped `we*ird…` rule would also catch
    put("project/a/b/.nobackup", b"")
    put("project/a/b/big.iso")
    put("project/a/keep.txt")
    put("top.txt")


@pytest.mark.parametrize("exclude_caches", [True, False])
def test_tagged_folders_are_left_out_but_for_their_marker(cli, tmp_path, isolated_dirs, exclude_caches):
    need_programs("rsync")
    source, repo, config = tmp_path / "src", tmp_path / "repo", tmp_path / "config.yaml"
    build(source)
    config.write_text(yaml.safe_dump({"repository": str(repo), "sources": [{"name": "home", "path": str(source)}],
                                      "exclude_caches": exclude_caches, "exclude_if_present": [".nobackup"],
                                      "rsync": {"retries": 0}}))
    done = cli("--config", config, "--json", "backup", "--full")
    assert done.exit_code == 0, done.stderr
    snapshot = done.json["snapshot"]
    got = files_under(repo / "snapshots" / snapshot / "data" / "home")
    everything = files_under(source)
    left_out = {"project/a/b/big.iso"}
    if exclude_caches:
        left_out |= {"cache/blob", "cache/deep/.hidden", "we*ird[1]\\dir/blob"}
        assert "left out the contents of 2 cache folders (CACHEDIR.TAG) and 1 marked with .nobackup" in done.stderr
    assert got == everything - left_out
    assert {"cache/CACHEDIR.TAG", "project/a/b/.nobackup", "fifo/CACHEDIR.TAG", "linked/CACHEDIR.TAG"} <= got
    assert cli("--config", config, "verify", snapshot).exit_code == 0


def test_a_folder_tagged_later_is_emptied_by_the_next_incremental(cli, tmp_path, isolated_dirs):
    need_programs("rsync")
    source, repo, config = tmp_path / "src", tmp_path / "repo", tmp_path / "config.yaml"
    (source / "build").mkdir(parents=True)
    (source / "build" / "out.o").write_bytes(b"object")
    config.write_text(yaml.safe_dump({"repository": str(repo), "sources": [{"name": "home", "path": str(source)}]}))
    assert cli("--config", config, "backup", "--full").exit_code == 0
    (source / "build" / "CACHEDIR.TAG").write_bytes(TAG)
    second = cli("--config", config, "--json", "backup", "--incremental")
    assert second.exit_code == 0 and not second.json["no_change"]
    data = repo / "snapshots" / second.json["snapshot"] / "data" / "home"
    assert files_under(data) == {"build/CACHEDIR.TAG"}


def test_the_signature_check(tmp_path):
    cases = {"good": TAG, "exact": SIGNATURE, "short": SIGNATURE[:-1], "lower": SIGNATURE.lower(),
             "space": b" " + SIGNATURE, "empty": b""}
    for name, data in cases.items():
        (tmp_path / name).write_bytes(data)
    assert {n for n in cases if is_cache_tag(os.fsencode(tmp_path / n))} == {"good", "exact"}
    os.mkfifo(tmp_path / "fifo")
    os.symlink(tmp_path / "good", tmp_path / "link")
    assert not is_cache_tag(os.fsencode(tmp_path / "fifo")) and not is_cache_tag(os.fsencode(tmp_path / "link"))


def test_the_walk_stops_at_a_tagged_folder_and_rules_are_escaped(tmp_path):
    (tmp_path / "c" / "inner").mkdir(parents=True)
    (tmp_path / "c" / "CACHEDIR.TAG").write_bytes(TAG)
    (tmp_path / "c" / "inner" / ".nobackup").write_bytes(b"")
    assert list(tagged_folders(tmp_path, [".nobackup"])) == [(b"c", b"CACHEDIR.TAG")]
    assert list(tagged_folders(tmp_path, [".nobackup"], caches=False)) == [(b"c/inner", b".nobackup")]
    (tmp_path / "bad").mkdir()
    (tmp_path / "bad" / "CACHEDIR.TAG").write_bytes(b"no signature")  # named by exclude_if_present: enough
    assert sorted(tagged_folders(tmp_path, ["CACHEDIR.TAG"])) == [(b"bad", b"CACHEDIR.TAG"), (b"c", b"CACHEDIR.TAG")]
    assert rules_for(b"a*b", b"CACHEDIR.TAG") == ["--include=/a\\*b/CACHEDIR.TAG", "--exclude=/a\\*b/*"]
    assert rules_for(b"a\\b", b".nobackup") == ["--include=/a\\b/.nobackup", "--exclude=/a\\\\b/*"]
    assert rules_for(b"", b".nobackup") == ["--include=/.nobackup", "--exclude=/*"]


def test_rsync_filter_files_when_asked(cli, tmp_path, isolated_dirs):
    need_programs("rsync")
    source, repo, config = tmp_path / "src", tmp_path / "repo", tmp_path / "config.yaml"
    (source / "project" / "build").mkdir(parents=True)
    (source / "project" / ".rsync-filter").write_text("- *.o\n- build/\n")
    (source / "project" / "main.c").write_text("int main;\n")
    (source / "project" / "main.o").write_bytes(b"obj")
    (source / "project" / "build" / "out").write_bytes(b"out")
    (source / "top.o").write_bytes(b"not under the filter file")
    for asked in (False, True):
        config.write_text(yaml.safe_dump({"repository": str(repo), "rsync_filter_files": asked,
                                          "sources": [{"name": "home", "path": str(source)}]}))
        done = cli("--config", config, "--json", "backup", "--full")
        assert done.exit_code == 0, done.stderr
        got = files_under(repo / "snapshots" / done.json["snapshot"] / "data" / "home")
        left_out = {"project/main.o", "project/build/out"} if asked else set()
        assert got == files_under(source) - left_out
