"""The mount table as the kernel writes it (/proc/self/mountinfo): how a view is known to be up or gone."""

from travelsync.offsite.crypt import mount_points

MOUNTINFO = (
    "22 1 0:21 / / rw,relatime shared:1 - ext4 /dev/sda1 rw\n"
    "46 27 0:40 / /tmp/travelsync-crypt-abc ro,nosuid,nodev,relatime - fuse.gocryptfs-reverse /srv/snap ro,user_id=0\n"
    "47 27 0:41 / /media/my\\040disk\\011tab\\012line\\134back rw - fuse.gocryptfs /x rw\n"
)


def test_mount_points_are_read_with_the_kernels_octal_escapes_undone():
    assert mount_points(MOUNTINFO) == {"/", "/tmp/travelsync-crypt-abc", "/media/my disk\ttab\nline\\back"}


def test_a_short_or_empty_table_gives_no_mount_point():
    assert mount_points("") == set() and mount_points("garbage line\n") == set()
