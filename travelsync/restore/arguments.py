"""rsync command lines for a restore (pure: tested without running anything).

One rsync run per source.  `--relative` with a `/./` marker sends only the selected paths,
so `--delete` reaches inside them and nowhere else; `--backup --backup-dir` moves every
laptop file that the restore overwrites or deletes into the displaced folder, mirroring its
place under the root.  `--mkpath` creates `<root>/home/marc` when the laptop lacks it.
"""

from pathlib import PurePosixPath

# --delete-before, not rsync's default --delete-during: with --backup-dir, rsync 3.x's generator
# (moving deleted files aside) and receiver (moving overwritten ones aside) otherwise race to
# create the same displaced folders and fail now and then with "make_backup … File exists".
RESTORE_FLAGS = ("--relative", "--delete-before", "--mkpath")


def source_arguments(data_spec: str, insides) -> list[str]:
    """`/repo/snapshots/X/data/home/./Mail` for each inside path (`./` keeps a leading `-` harmless)."""
    base = data_spec.rstrip("/")
    arguments = []
    for inside in insides:
        inside = PurePosixPath(inside)
        arguments.append(f"{base}/./" if str(inside) == "." else f"{base}/./{inside}")
    return arguments


def backup_dir_for(displaced_folder: str, source_path) -> str:
    """Where a file displaced from `<root>/home/marc/…` goes: `<displaced>/home/marc/…`."""
    return str(PurePosixPath(displaced_folder) / PurePosixPath(str(source_path)).relative_to("/"))


def restore_argv(common: list[str], *, data_spec: str, insides, destination_spec: str, displaced_folder: str,
                 source_path, dry_run: bool = False, extra=(), displaced_suffix: str | None = None) -> list[str]:
    """The full rsync argv restoring `insides` of one source into `destination_spec` (a folder).

    `common` is rsync's program and shared flags (archive, ssh, progress, stats); `extra` the
    configured extra arguments.  Paths come after `--`, so none can become an option.
    `displaced_suffix`: keep each displaced file beside itself under that suffix (a restore
    in place) instead of in the displaced folder.
    """
    argv = list(common)
    argv += [flag for flag in RESTORE_FLAGS if flag not in argv]
    if not any(a in ("-s", "--protect-args", "--secluded-args") for a in argv):
        argv.append("--protect-args")
    if displaced_suffix:
        argv += ["--backup", f"--suffix={displaced_suffix}"]
    else:
        argv += ["--backup", f"--backup-dir={backup_dir_for(displaced_folder, source_path)}"]
    if dry_run:
        argv.append("--dry-run")
    argv += list(extra)
    argv.append("--")
    argv += source_arguments(data_spec, insides)
    argv.append(destination_spec.rstrip("/") + "/")
    return argv
