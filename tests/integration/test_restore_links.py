"""Symlinks a restore must not follow, with real rsync (and a real sshd for a remote laptop):
a path beneath a symlink in the snapshot (issue 15, finding 6) and a displaced folder that is
a symlink or leads into a restored path (issue 15, finding 7)."""

import os

import pytest
import yaml

from tests.conftest import need_programs
from tests.integration.test_hostile_state import listing
from tests.integration.test_restore import backup, build_home, write_config
from tests.integration.test_sweep_over_ssh import remote
from travelsync.exitcodes import ExitStatus
from travelsync.restore import places

pytestmark = pytest.mark.integration
FULL_AT = "2026-11-22T02:30:00+00:00"


@pytest.fixture
def linked(tmp_path, monkeypatch):
    """A snapshot whose home holds `link -> <home>/real` (absolute: it names the live home)."""
    need_programs("rsync")
    home = build_home(tmp_path, mails=5)
    (home / "real").mkdir()
    (home / "real" / "x").write_text("as it was at backup time\n")
    (home / "link").symlink_to(home / "real")
    config = write_config(tmp_path, home, mailer=False)
    monkeypatch.setenv("TRAVELSYNC_CONFIG", str(config))
    monkeypatch.setenv("HOME", str(home))
    full = backup(config, "full", FULL_AT)
    (home / "real" / "x").write_text("LIVE: changed at home after the backup\n")
    return tmp_path, home, full


# -- finding 6: a path beneath a symlink in the snapshot -----------------------------------------

def test_a_path_beneath_a_symlink_in_the_snapshot_is_refused_not_copied_live(linked, cli):
    base, home, full = linked
    target = base / "elsewhere"
    result = cli("restore", "--path", "home/link/x", "--root", target)
    assert result.exit_code == ExitStatus.USAGE, result.stdout + result.stderr
    assert "home/link/x: lies beneath a symlink in snapshot" in result.stderr
    assert not target.exists()


def test_the_link_itself_and_the_real_folder_still_restore_from_the_snapshot(linked, cli):
    base, home, full = linked
    target = base / "elsewhere"
    result = cli("restore", "--path", "home/link", "--path", "home/real", "--root", target)
    assert result.exit_code == 0, result.stderr
    laptop_home = target / home.relative_to("/")
    assert os.readlink(laptop_home / "link") == str(home / "real")  # copied as a link
    assert (laptop_home / "real" / "x").read_text() == "as it was at backup time\n"


def test_links_on_the_way_are_found_over_ssh_too(sshd_server, tmp_path):
    data = tmp_path / "data"
    (data / "real" / "deeper").mkdir(parents=True)
    (data / "to-etc").symlink_to("/etc")
    (data / "inside").symlink_to("real")  # relative, but still a link on the way
    location, settings = remote(sshd_server, data)
    asked = ["to-etc/passwd", "inside/deeper/x", "real/deeper/x", "to-etc", "real/new folder/x\ny"]
    assert sorted(places.beneath_links(location, asked, settings)) == ["inside/deeper/x", "to-etc/passwd"]
    assert places.beneath_links(location, asked, settings) == places.beneath_links(
        type(location)(str(data)), asked, None)


# -- finding 7: the displaced folder checked by its real path ------------------------------------

@pytest.fixture
def restored(linked, cli):
    """The laptop got home/src once; a laptop file then changed, so a second restore displaces it."""
    base, home, full = linked
    target = base / "laptop"
    assert cli("restore", "--path", "home/src", "--root", target).exit_code == 0
    laptop_src = target / home.relative_to("/") / "src"
    (laptop_src / "app" / "m1.py").write_text("changed on the laptop\n")
    return base, home, target, laptop_src


def test_a_symlinked_displaced_folder_is_refused(restored, cli):
    base, home, target, laptop_src = restored
    (target / ".travelsync-displaced").symlink_to(laptop_src / "app")
    before = listing(base)
    for _ in range(2):  # it used to nest one level deeper each run
        result = cli("restore", "--path", "home/src", "--root", target)
        assert result.exit_code == ExitStatus.USAGE, result.stderr
        assert f"the displaced folder {target}/.travelsync-displaced on {target} is a symlink" in result.stderr
    assert listing(base) == before


def test_a_displaced_folder_leading_into_a_restored_path_through_a_link_below_it_is_refused(restored, cli):
    base, home, target, laptop_src = restored
    document = yaml.safe_load((base / "config.yaml").read_text())
    document["laptop"]["displaced"] = "via/aside"
    (base / "laptop.yaml").write_text(yaml.safe_dump(document))
    (target / "via").symlink_to(laptop_src)  # an ordinary-looking folder name, inside home/src really
    before = listing(base)
    result = cli("--config", base / "laptop.yaml", "restore", "--path", "home/src", "--root", target)
    assert result.exit_code == ExitStatus.USAGE, result.stderr
    assert f"really is {laptop_src}/aside/" in result.stderr and f"inside the restored path {laptop_src}" in result.stderr
    assert listing(base) == before


def test_a_symlinked_displaced_folder_on_a_laptop_over_ssh_is_refused(restored, cli, sshd_server):
    base, home, target, laptop_src = restored
    (target / ".travelsync-displaced").symlink_to(laptop_src / "app")
    config = write_config(base, home, ssh=sshd_server.ssh_config, name="remote.yaml", mailer=False)
    before = listing(base)
    result = cli("--config", config, "restore", "--path", "home/src", "--root", sshd_server.location(str(target)))
    assert result.exit_code == ExitStatus.USAGE, result.stderr
    assert "/.travelsync-displaced on" in result.stderr and "is a symlink" in result.stderr
    assert listing(base) == before
