"""rsync's order of a transfer's files (pure), the order of version-2 manifest lines.

rsync (incremental recursion) lists a folder's files first, sorted bytewise by name, then
descends into its subfolders one after the other, sorted by name with a `/` appended (so
`a.d/` comes before `a/`). The manifest of an incremental is merged with its parent's while
rsync streams; both arrive in this order, so a key per path is all the merge needs.
"""


def rsync_order_key(path: bytes) -> tuple:
    """Sort key of a regular file's path (`source/dir/…/name`) in rsync's order."""
    *folders, name = path.split(b"/")
    return tuple((1, folder + b"/") for folder in folders) + ((0, name),)
