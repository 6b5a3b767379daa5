"""restore/places.sweep on this machine: it lists the folder, deletes what `decide` names, then
the folders left empty, and the folder of displaced folders once nothing else is in it."""

from travelsync.location import Location
from travelsync.restore.places import sweep


def displaced(base, stamp, *names):
    folder = base / ".travelsync-displaced" / stamp
    for name in names:
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_text(name)
    return folder


def test_the_last_displaced_folder_takes_its_empty_parent_along(tmp_path):
    folder = displaced(tmp_path, "20261124T070000Z", "home/marc/Mail/cur/1", "home/marc/src/m1.py")
    seen = []
    found = sweep(Location(str(folder)), lambda found: seen.append(dict(found)) or sorted(found), None)
    assert set(found) == {"home/marc/Mail/cur/1", "home/marc/src/m1.py"} and seen == [found]
    assert found["home/marc/src/m1.py"][0] == len("home/marc/src/m1.py")  # (size, mtime)
    assert not (tmp_path / ".travelsync-displaced").exists()


def test_what_decide_keeps_stays_and_so_do_its_folders(tmp_path):
    folder = displaced(tmp_path, "20261124T070000Z", "home/marc/Mail/cur/1", "home/marc/src/m1.py")
    sweep(Location(str(folder)), lambda found: ["home/marc/Mail/cur/1"], None)
    assert not (folder / "home/marc/Mail").exists()
    assert (folder / "home/marc/src/m1.py").read_text() == "home/marc/src/m1.py"


def test_an_older_displaced_folder_keeps_the_parent(tmp_path):
    displaced(tmp_path, "20261123T180000Z", "home/marc/kept.txt")
    folder = displaced(tmp_path, "20261124T070000Z", "home/marc/Mail/cur/1")
    sweep(Location(str(folder)), sorted, None)
    assert not folder.exists()
    assert (tmp_path / ".travelsync-displaced" / "20261123T180000Z" / "home/marc/kept.txt").exists()


def test_a_missing_folder_is_nothing_to_do(tmp_path):
    asked = []
    empty = tmp_path / "empty"
    empty.mkdir()
    assert sweep(Location(str(empty / "absent")), asked.append, None) == {} and asked == []
    assert empty.is_dir()  # its (empty) parent is not the sweep's to remove


def test_folders_without_a_file_are_taken_back(tmp_path):
    """What a run killed before it displaced anything leaves: the displaced folder's empty tree."""
    folder = tmp_path / ".travelsync-displaced" / "20261123T180000Z"
    (folder / "home" / "marc").mkdir(parents=True)
    asked = []
    assert sweep(Location(str(folder)), asked.append, None) == {} and asked == []
    assert not (tmp_path / ".travelsync-displaced").exists() and tmp_path.is_dir()
