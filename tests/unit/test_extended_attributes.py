"""backup/attributes.py: a sure "none" only when every entry was read and had none."""

import errno
import os

from travelsync.backup.attributes import any_extended_attributes


def no_attributes(path, follow_symlinks=True):
    assert follow_symlinks is False
    return []


def test_an_empty_or_plain_tree_holds_none(tmp_path):
    (tmp_path / "a" / "b").mkdir(parents=True)
    (tmp_path / "a" / "b" / "f").write_text("x")
    assert any_extended_attributes(str(tmp_path), listxattr=no_attributes) is False


def test_one_attribute_deep_down_is_found_and_the_walk_stops_there(tmp_path):
    (tmp_path / "a" / "b").mkdir(parents=True)
    for name in ("f", "g", "h"):
        (tmp_path / "a" / "b" / name).write_text("x")
    looked = []

    def listxattr(path, follow_symlinks=True):
        looked.append(os.path.basename(path))
        return ["system.posix_acl_access"] if path.endswith("/g") else []

    assert any_extended_attributes(str(tmp_path), listxattr=listxattr) is True
    assert looked[-1] == "g" and "a" in looked


def test_a_file_system_without_attribute_support_holds_none(tmp_path):
    (tmp_path / "f").write_text("x")

    def unsupported(path, follow_symlinks=True):
        raise OSError(errno.ENOTSUP, "Operation not supported", path)

    assert any_extended_attributes(str(tmp_path), listxattr=unsupported) is False


def test_an_unreadable_folder_or_entry_means_not_known(tmp_path):
    (tmp_path / "f").write_text("x")

    def refused(path):
        raise PermissionError(errno.EACCES, "Permission denied", path)

    def vanished(path, follow_symlinks=True):
        raise FileNotFoundError(errno.ENOENT, "No such file", path)

    assert any_extended_attributes(str(tmp_path), listxattr=no_attributes, scandir=refused) is True
    assert any_extended_attributes(str(tmp_path), listxattr=vanished) is True


def test_a_symlink_is_looked_at_not_followed(tmp_path):
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "tagged").write_text("x")
    inside = tmp_path / "inside"
    inside.mkdir()
    (inside / "link").symlink_to(outside)

    def listxattr(path, follow_symlinks=True):
        return ["user.x"] if os.path.realpath(path).endswith("/tagged") else []

    assert any_extended_attributes(str(inside), listxattr=listxattr) is False
