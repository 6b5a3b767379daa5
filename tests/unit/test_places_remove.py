"""restore/places.remove_files on this machine: the files, the folders left empty, and with
`parent_too` the folder of displaced folders once nothing else is in it."""

from travelsync.location import Location
from travelsync.restore.places import remove_files


def displaced(base, stamp, *names):
    folder = base / ".travelsync-displaced" / stamp
    for name in names:
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_text(name)
    return folder


def test_the_last_displaced_folder_takes_its_empty_parent_along(tmp_path):
    folder = displaced(tmp_path, "20261124T070000Z", "home/marc/Mail/cur/1", "home/marc/src/m1.py")
    remove_files(Location(str(folder)), ["home/marc/Mail/cur/1", "home/marc/src/m1.py"], None, parent_too=True)
    assert not (tmp_path / ".travelsync-displaced").exists()


def test_an_older_displaced_folder_keeps_the_parent(tmp_path):
    displaced(tmp_path, "20261123T180000Z", "home/marc/kept.txt")
    folder = displaced(tmp_path, "20261124T070000Z", "home/marc/Mail/cur/1")
    remove_files(Location(str(folder)), ["home/marc/Mail/cur/1"], None, parent_too=True)
    assert not folder.exists()
    assert (tmp_path / ".travelsync-displaced" / "20261123T180000Z" / "home/marc/kept.txt").exists()


def test_without_parent_too_only_the_folder_goes(tmp_path):
    folder = displaced(tmp_path, "20261124T070000Z", "a")
    remove_files(Location(str(folder)), ["a"], None)
    assert not folder.exists() and (tmp_path / ".travelsync-displaced").is_dir()
