"""The contenders: travelsync and the tools a user would pick instead, each doing the same job.

A tool answers `command(step)` with a Command (argv, env, cwd) or None when it has no such
step (rsnapshot has no restore: one restores its snapshots with rsync, i.e. the bare-rsync
row). Steps, in the order of a trip:

  full       first backup into an empty repository
  unchanged  a second backup, nothing changed
  prepare    restore of the full backup onto an empty laptop folder
  changed    a backup after the seeded 1 % change
  finalize   restore of that latest backup onto the prepared laptop folder

Every repository, cache and laptop folder lives under the round's own folder; no tool uses
the network (borg and restic get local repositories; restic's password is a fixed benchmark
passphrase from the environment, borg's repository is unencrypted).
"""

import os
import shutil
import sys
from dataclasses import dataclass, field
from pathlib import Path

from dataset import TOP_FOLDERS
from measure import rsync_files_transferred, timed

STEPS = ("full", "unchanged", "prepare", "changed", "finalize")
RESTORE_STEPS = ("prepare", "finalize")


def link_step(step: str, rate: str) -> str:
    """The name of a restore step with the laptop behind a link (benchmarks/link.py): prepare@1gbit."""
    return f"{step}@{rate}"
REPO_ROOT = Path(__file__).resolve().parents[1]
# The moments of the trip (TRAVELSYNC_NOW): Sunday full, Monday incremental, prepare on Monday,
# the change, Tuesday's incremental, finalize on Tuesday morning.
MOMENTS = {"full": "2026-11-22T02:30:00Z", "unchanged": "2026-11-23T02:30:00Z",
           "prepare": "2026-11-23T10:00:00Z", "changed": "2026-11-24T02:30:00Z",
           "finalize": "2026-11-24T07:00:00Z"}
RSYNC = ["rsync", "-aHAX", "--numeric-ids", "--stats"]


@dataclass
class Command:
    argv: list
    env: dict | None = None
    cwd: Path | None = None
    ok: tuple = (0,)


@dataclass
class Tool:
    name: str
    source: Path
    folder: Path = None  # this round's folder for the tool
    program: str = ""
    notes: list = field(default_factory=list)

    def available(self) -> str | None:
        """None when the tool can run, else why not."""
        return None if shutil.which(self.program) else f"{self.program} is not installed"

    def start_round(self, folder: Path) -> None:
        self.folder = folder
        shutil.rmtree(folder, ignore_errors=True)
        folder.mkdir(parents=True)

    def command(self, step: str) -> Command | None:
        raise NotImplementedError

    def files_transferred(self, step: str, stdout: str) -> int | None:
        return None

    def reported_seconds(self, step: str, stdout: str) -> float | None:
        return None

    def version(self) -> str:
        return ""

    def finish(self) -> None:
        """Remove what the tool made outside its round folder (the run is over)."""

    def link_command(self, step: str, link) -> Command | None:
        """`step` (prepare or finalize) onto a laptop behind `link` over ssh; None: not measured."""
        return None

    def laptop_target(self) -> Path:
        """Where the laptop copy of the source ends up (for checking what was restored)."""
        raise NotImplementedError


def _version(argv) -> str:
    import subprocess

    try:
        out = subprocess.run(argv, capture_output=True, text=True, timeout=30).stdout
    except OSError:
        return ""
    return out.splitlines()[0].strip() if out else ""


class Travelsync(Tool):
    """`travelsync --json backup/prepare/finalize`, run as its own process like a user would."""

    def available(self):
        return None

    def version(self):
        """The commit measured (`-dirty`: with uncommitted edits in the working tree)."""
        return "travelsync " + _version(["git", "-C", str(REPO_ROOT), "describe", "--always", "--dirty"])

    runtimes: list = None  # socket folders made for the link commands (see link_command)

    def start_round(self, folder):
        self.finish()  # the last round's socket folders (their masters have exited by now)
        super().start_round(folder)
        paths = ", ".join(f"home/{top}" for top in TOP_FOLDERS)
        self.config = folder / "config.yaml"
        self.config.write_text(f"repository: {folder / 'repo'}\n"
                               f"sources: [{{name: home, path: {self.source}}}]\n"
                               f"laptop: {{host: local, root: {folder / 'laptop'}, paths: [{paths}]}}\n"
                               "rsync: {retries: 0}\n")

    def environment(self, step, config=None, state="state"):
        return {**os.environ, "PYTHONPATH": str(REPO_ROOT), "TRAVELSYNC_CONFIG": str(config or self.config),
                "XDG_STATE_HOME": str(self.folder / state), "TRAVELSYNC_NOW": MOMENTS[step]}

    def link_command(self, step, link):
        """The same trip (its own trip state) with `laptop.host` the laptop behind the link."""
        import json

        paths = [f"home/{top}" for top in TOP_FOLDERS]
        config = self.folder / f"config-{link.rate}.yaml"
        config.write_text(json.dumps({  # JSON is YAML
            "repository": str(self.folder / "repo"), "sources": [{"name": "home", "path": str(self.source)}],
            "laptop": {"host": f"{link.user}@{link.laptop_address}", "root": str(self.folder / f"laptop-{link.rate}"),
                       "paths": paths},
            "ssh": link.ssh_settings(), "rsync": {"retries": 0}}))
        # A socket folder of its own for each command: a shared ssh connection left by the
        # previous command (it lingers 5 s) would spare this one its login, which a trip's
        # prepare and finalize, a night apart, never share. (/tmp: the socket path must be short.)
        import tempfile

        runtime = tempfile.mkdtemp(prefix="tsb-", dir="/tmp")
        self.runtimes.append(runtime)
        env = {**self.environment(step, config, f"state-{link.rate}"), "XDG_RUNTIME_DIR": runtime}
        return Command([sys.executable, "-m", "travelsync", "--json", step, "--skip-preflight"], env, ok=(0, 3))

    def finish(self):
        for runtime in self.runtimes or ():
            shutil.rmtree(runtime, ignore_errors=True)
        self.runtimes = []

    def command(self, step):
        args = {"full": ["backup", "--full"], "unchanged": ["backup", "--incremental"],
                "changed": ["backup", "--incremental"], "prepare": ["prepare", "--skip-preflight"],
                "finalize": ["finalize", "--skip-preflight"]}[step]
        return Command([sys.executable, "-m", "travelsync", "--json", *args], self.environment(step), ok=(0, 3))

    def files_transferred(self, step, stdout):
        return self._report(stdout).get("files_transferred")

    def reported_seconds(self, step, stdout):
        """A restore's own `seconds` (its rsync run). A backup's comes from the clock, which
        TRAVELSYNC_NOW holds still here, so it is left out."""
        return self._report(stdout).get("seconds") if step in RESTORE_STEPS else None

    @staticmethod
    def _report(stdout) -> dict:
        import json

        try:
            return json.loads(stdout)
        except ValueError:
            return {}

    def laptop_target(self):
        return self.folder / "laptop" / self.source.relative_to("/")


NO_WALK = "rsync-insecure-links"  # bare rsync told to skip its symlink-race walk, as travelsync may
DURABLE = "rsync+sync-f"  # bare rsync's backups followed by `sync -f`: the same durability as travelsync's


class BareRsync(Tool):
    """What a user would type: rsync alone, the same flags' core as travelsync's transfer.

    `extra`: flags added to every command. The second bare-rsync row adds --insecure-links,
    which travelsync passes when no other user can reach the paths (rsync/trusted_paths.py):
    travelsync over that row is the wrapper's own cost; over the plain row, what a user gains.
    `durable`: the third row, backups only: the plain rsync, then `sync -f` on the copy, so
    that the copy is on the disk when the command ends, as travelsync's snapshot is (its
    syncfs(2) before the commit). travelsync over that row is the price of the same transfer
    with the same durability.

    Backups: `-aHAX --numeric-ids --delete` (incrementals with --link-dest to the previous copy).
    Restores: the same selected folders with `--relative --delete-before --mkpath -s` onto the laptop
    folder (travelsync additionally moves overwritten laptop files aside with --backup-dir).
    """

    def __init__(self, name, source, extra=(), durable=False):
        super().__init__(name, source, program="rsync")
        self.extra = list(extra)
        self.durable = durable

    def available(self):
        missing = super().available()
        if missing or not self.extra:
            return missing
        from travelsync.rsync.trusted_paths import rsync_has_option

        return None if rsync_has_option("rsync") else "this rsync has no --insecure-links (no walk to skip)"

    def version(self):
        return _version(["rsync", "--version"])

    def start_round(self, folder):
        super().start_round(folder)
        (folder / "copies").mkdir()

    def command(self, step):
        copies, source, rsync = self.folder / "copies", f"{self.source}/", [*RSYNC, *self.extra]
        if step == "full":
            return self._backup([*rsync, "--delete", source, f"{copies}/full/"])
        if step == "unchanged":
            return self._backup([*rsync, "--delete", f"--link-dest={copies}/full", source, f"{copies}/incr1/"])
        if step == "changed":
            return self._backup([*rsync, "--delete", f"--link-dest={copies}/incr1", source, f"{copies}/incr2/"])
        return None if self.durable else self._restore(step, [], f"{self.laptop_target()}/")

    def _backup(self, argv):
        """The backup's rsync; the durable row then runs `sync -f` on the copy's file system,
        the durability travelsync's syncfs(2) gives a snapshot before its commit."""
        if not self.durable:
            return Command(argv)
        return Command(["sh", "-ec", '"$@"; sync -f "$0"', argv[-1], *argv])

    def _restore(self, step, ssh, destination):
        snapshot = self.folder / "copies" / ("full" if step == "prepare" else "incr2")
        return Command([*RSYNC, *self.extra, *ssh, "-s", "--relative", "--delete-before", "--mkpath",
                        *[f"{snapshot}/./{top}" for top in TOP_FOLDERS], destination])

    def link_command(self, step, link):
        """The same restore with the laptop folder behind the link: `-e ssh… user@laptop:folder/`."""
        if self.durable:
            return None
        laptop = self.folder / f"laptop-{link.rate}" / self.source.relative_to("/")
        return self._restore(step, ["-e", link.ssh_command()], link.target(f"{laptop}/"))

    def files_transferred(self, step, stdout):
        return rsync_files_transferred(stdout)

    def laptop_target(self):
        return self.folder / "laptop" / self.source.relative_to("/")


class Rsnapshot(Tool):
    """`rsnapshot alpha` (rsync --link-dest rotation). No restore command: its restore is bare rsync."""

    def __init__(self, name, source):
        super().__init__(name, source, program="rsnapshot")

    def version(self):
        import subprocess

        out = subprocess.run(["dpkg-query", "-W", "-f=${Version}", "rsnapshot"], capture_output=True, text=True)
        return f"rsnapshot {out.stdout.strip()}" if out.returncode == 0 else "rsnapshot"

    def start_round(self, folder):
        super().start_round(folder)
        self.config = folder / "rsnapshot.conf"
        lines = [("config_version", "1.2"), ("snapshot_root", f"{folder}/root/"), ("no_create_root", "0"),
                 ("cmd_rsync", shutil.which("rsync") or "/usr/bin/rsync"), ("cmd_cp", "/bin/cp"),
                 ("cmd_rm", "/bin/rm"), ("link_dest", "1"), ("verbose", "1"), ("loglevel", "1"),
                 ("rsync_short_args", "-aHAX"),
                 ("rsync_long_args", "--delete --numeric-ids --delete-excluded"),
                 ("lockfile", f"{folder}/rsnapshot.pid"), ("retain", "alpha\t10"),
                 ("backup", f"{self.source}/\thome/")]
        self.config.write_text("".join(f"{key}\t{value}\n" for key, value in lines))

    def command(self, step):
        if step in RESTORE_STEPS:
            return None
        return Command(["rsnapshot", "-c", str(self.config), "alpha"])


class Borg(Tool):
    """`borg create` from the source folder (archive paths relative to it) into an unencrypted
    local repository; `borg extract` into the laptop folder for the restores."""

    def __init__(self, name, source):
        super().__init__(name, source, program="borg")

    def version(self):
        return _version(["borg", "--version"])

    def environment(self):
        return {**os.environ, "BORG_BASE_DIR": str(self.folder / "base"),
                "BORG_UNKNOWN_UNENCRYPTED_REPO_ACCESS_IS_OK": "yes", "BORG_RELOCATED_REPO_ACCESS_IS_OK": "yes",
                "BORG_REPO": str(self.folder / "repo")}

    def start_round(self, folder):
        super().start_round(folder)
        timed(["borg", "init", "--encryption=none"], env=self.environment(), flush=False)
        self.laptop_target().mkdir(parents=True)

    def command(self, step):
        if step in RESTORE_STEPS:
            archive = "full" if step == "prepare" else "changed"
            return Command(["borg", "extract", f"::{archive}"], self.environment(), self.laptop_target())
        return Command(["borg", "create", f"::{step}", "."], self.environment(), self.source)

    def laptop_target(self):
        return self.folder / "laptop"


class Restic(Tool):
    """`restic backup` into a local repository (restic always encrypts: a fixed benchmark passphrase,
    $TRAVELSYNC_BENCH_PASSPHRASE or "benchmark-only"); `restic restore` of the tagged snapshot."""

    def __init__(self, name, source):
        super().__init__(name, source, program="restic")

    def version(self):
        return _version(["restic", "version"])

    def environment(self):
        return {**os.environ, "RESTIC_REPOSITORY": str(self.folder / "repo"),
                "RESTIC_PASSWORD": os.environ.get("TRAVELSYNC_BENCH_PASSPHRASE", "benchmark-only"),
                "RESTIC_CACHE_DIR": str(self.folder / "cache"), "RESTIC_PROGRESS_FPS": "0.2"}

    def start_round(self, folder):
        super().start_round(folder)
        timed(["restic", "init", "-q"], env=self.environment(), flush=False)

    def command(self, step):
        if step in RESTORE_STEPS:
            tag = "full" if step == "prepare" else "changed"
            return Command(["restic", "restore", "latest", "--host", "bench", "--tag", tag,
                            "--target", str(self.folder / "laptop")], self.environment())
        return Command(["restic", "backup", "-q", "--host", "bench", "--tag", step, str(self.source)],
                       self.environment())

    def laptop_target(self):
        return self.folder / "laptop" / self.source.relative_to("/")


def contenders(source: Path) -> list[Tool]:
    return [Travelsync("travelsync", source), BareRsync("rsync", source),
            BareRsync(NO_WALK, source, extra=["--insecure-links"]), BareRsync(DURABLE, source, durable=True),
            Rsnapshot("rsnapshot", source),
            Borg("borg", source), Restic("restic", source)]
