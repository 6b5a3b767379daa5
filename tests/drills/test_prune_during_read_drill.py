"""Drill 10: `prune` runs while a restore (or verify) reads a snapshot that retention lets go.

The reader holds the repository's shared lock on that snapshot, so prune leaves it and says
which; the restore completes identical to the snapshot; once the reader is gone, the next
prune deletes it."""

import fcntl
import os
import time

import pytest
import yaml

from tests.drills.conftest import ROUNDS, change_home, day_at, end_trip, files_under, seed_laptop, start

pytestmark = pytest.mark.timeout(120 + 40 * ROUNDS)


def with_retention(path, full: int):
    document = yaml.safe_load(path.read_text())
    document["retention"] = {"full": full}
    target = path.with_name(path.stem + f"-keep{full}.yaml")
    target.write_text(yaml.safe_dump(document))
    return target


def snapshot_ids(world) -> list[str]:
    return sorted(entry.name for entry in (world.repo / "snapshots").iterdir())


def wait_for_program(running, program: str, limit: float = 30.0) -> None:
    give_up = time.monotonic() + limit
    while running.process.poll() is None and time.monotonic() < give_up and not any(
            name == program for _pid, name, _cmd in running.session_members()):
        time.sleep(0.005)


def held_by_a_reader(repo, snapshot_id: str) -> bool:
    """What prune finds: the reader file of the snapshot cannot be taken exclusively."""
    try:
        fd = os.open(repo / "readers" / snapshot_id, os.O_RDONLY)
    except FileNotFoundError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        return False
    except BlockingIOError:
        return True
    finally:
        os.close(fd)


def test_prune_leaves_the_snapshot_a_reader_holds(home_world, drill, cli):
    world = home_world
    prune_config = with_retention(world.fast, 1)
    for index in range(ROUNDS):
        day = 2 + 2 * index
        change_home(world.home, drill.random, f"day{index}")
        assert cli("--config", world.fast, "backup", "--incremental",
                   env={"TRAVELSYNC_NOW": day_at(day)}).exit_code == 0
        doomed = world.latest_id()
        change_home(world.home, drill.random, f"day{index}b")
        assert cli("--config", world.fast, "backup", "--full", env={"TRAVELSYNC_NOW": day_at(day + 1)}).exit_code == 0
        expected = files_under(world.data(doomed))
        reader = drill.random.choice(["restore", "verify"])
        target = world.base / f"restored-{index}"
        args = (("restore", "--from", doomed, "--path", "home", "--root", target) if reader == "restore"
                else ("verify", doomed))
        # the restore is slowed by rsync --bwlimit; verify runs at disk speed: prune meets it
        # while it reads, or before it starts (then verify must say the snapshot is gone)
        running = start(world.base / f"read-{index}", "--config", world.slow, "--json", *args)
        moment = drill.random.uniform(0.05, 0.6) if reader == "restore" else drill.random.uniform(0.0, 0.2)
        if reader == "restore":
            wait_for_program(running, "rsync")
        time.sleep(moment)
        reading = running.process.poll() is None
        drill.tried(f"round {index + 1}: `{' '.join(map(str, args[:3]))}` of {doomed}, then prune "
                    f"{moment:.3f}s after " + ("its rsync started" if reader == "restore" else "it started"))
        pruned = cli("--config", prune_config, "--json", "prune")
        drill.check(pruned.exit_code == 0, "prune succeeds", pruned.stderr)
        code = running.wait(120)
        drill.say(f"  reader exit {code}, was still reading when prune ran: {reading}; prune: "
                  f"deleted {pruned.json['deleted']}, in use {pruned.json.get('in_use')}")
        if reader == "verify" and code != 0:  # prune came first: verify says so, nothing half-checked
            drill.check(code == 2 and "no snapshot" in running.stderr and doomed in pruned.json["deleted"],
                        "verify, beaten to it by prune, says the snapshot is gone (exit 2)", running.stderr)
        else:
            drill.check(code == 0, f"{reader} of {doomed} completes (exit 0)", running.stderr)
        if reader == "restore":
            restored = files_under(target / world.home.relative_to("/"))
            drill.check(restored == expected, f"the restored tree is identical to {doomed}",
                        sorted(set(restored.items()) ^ set(expected.items()))[:10])
        if reading and reader == "restore":
            drill.check(doomed in snapshot_ids(world), f"prune left {doomed}, which the restore read")
            drill.check(doomed in pruned.json.get("in_use", []) and doomed not in pruned.json["deleted"],
                        "prune reports it as in use, not deleted", pruned.json)
        again = cli("--config", prune_config, "--json", "prune")
        drill.check(again.exit_code == 0 and doomed not in snapshot_ids(world),
                    f"once the reader is gone, prune deletes {doomed}", again.stdout + again.stderr)


def test_prune_during_prepare_and_finalize_leaves_what_they_read(home_world, drill, cli, isolated_dirs):
    """While prepare restores the last full, a new full is taken and prune runs (keep one full):
    the full prepare reads is no longer protected by being the last, only by its reader lock.
    Likewise finalize: a backup and prune while it restores what was `latest`."""
    world = home_world
    prune_config = with_retention(world.fast, 1)
    for index in range(ROUNDS):
        day = 2 + 3 * index
        end_trip(drill, world, cli, isolated_dirs / "state", day_at(day, 1, 0))
        seed_laptop(world, drill.random)
        for step, args in (("prepare", ("prepare", "--skip-preflight")),
                           ("finalize", ("finalize", "--skip-preflight"))):
            if step == "finalize":
                change_home(world.home, drill.random, f"night{index}")
                assert cli("--config", world.fast, "backup", "--incremental",
                           env={"TRAVELSYNC_NOW": day_at(day, 3, 0)}).exit_code == 0
            reading = world.last_full_id() if step == "prepare" else world.latest_id()
            expected = files_under(world.data(reading))
            when = day_at(day, 2, 0) if step == "prepare" else day_at(day + 1, 7, 0)
            running = start(world.base / f"{step}-{index}", "--config", world.slow, "--json", *args,
                            env={"TRAVELSYNC_NOW": when})
            wait_for_program(running, "rsync")
            moment = drill.random.uniform(0.0, 0.4)
            time.sleep(moment)
            if running.process.poll() is None:
                drill.check(held_by_a_reader(world.repo, reading), f"{step} holds the reader lock on {reading}")
            change_home(world.home, drill.random, f"{step}{index}")
            taken = cli("--config", world.fast, "backup", "--full",
                        env={"TRAVELSYNC_NOW": day_at(day, 2, 30) if step == "prepare" else day_at(day + 1, 7, 30)})
            pruned = cli("--config", prune_config, "--json", "prune")
            still = running.process.poll() is None
            drill.tried(f"round {index + 1}: {step} of {reading}; {moment:.3f}s after its rsync started a new "
                        f"full (exit {taken.exit_code}) and prune (in use {pruned.json.get('in_use')}, deleted "
                        f"{pruned.json.get('deleted')}); {step} still running then: {still}")
            code = running.wait(120)
            drill.check(code in (0, 3), f"{step} completes (exit {code})", running.stderr)
            drill.check(reading not in pruned.json["deleted"], f"prune did not delete {reading}, which {step} read",
                        pruned.json)
            restored = files_under(world.laptop_home / "Mail")
            drill.check(restored == {k[len("Mail/"):]: v for k, v in expected.items() if k.startswith("Mail/")},
                        f"the laptop's Mail equals {reading}'s")
