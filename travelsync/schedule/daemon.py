"""`travelsync schedule run`: an APScheduler 3.x daemon that wakes `backup --if-due` up.

The daemon decides nothing itself: each wake-up runs `travelsync backup --if-due` as a child
process, and that command asks the one due-rule against the repository's own record. So:
- jobs live in APScheduler's memory store and are built fresh at start-up; a run missed while
  the daemon was down is caught up by the check at start (not by a persistent job store, where
  `replace_existing=True` at start-up silently drops the missed run);
- CronTrigger jobs use weekday names (in APScheduler 3.x `day_of_week=0` is Monday, not Sunday),
  `coalesce=True`, `max_instances=1` and a misfire grace as long as the gap between runs;
- a heartbeat (every 5 minutes of *running* time) notices a slot that passed while the machine
  was suspended (the scheduler's sleep stops during suspend) and runs the check once per slot;
- the autumn night's second 02:30 firing finds nothing due;
- SIGTERM/SIGINT: the running backup child gets SIGTERM (its whole process group, rsync
  included), which stops it at a safe point with its partial snapshot kept for resuming;
  the daemon waits for it, then exits 0.
"""

import os
import signal
import subprocess
import sys
import threading
import time
from datetime import datetime, timedelta, tzinfo
from typing import Callable

from travelsync.config.model import WEEKDAYS, Schedule, ScheduleSpec
from travelsync.schedule.slots import last_slot, zone_for

HEARTBEAT_SECONDS = 300
RETRY_SECONDS = 900  # after a failed or locked run, the heartbeat tries again this much later
STOP_TIMEOUT = 120.0  # seconds the daemon waits for a backup to stop before SIGKILL


def spec_gap(spec: ScheduleSpec) -> timedelta:
    """The longest gap between two consecutive days of `spec` (1 day for daily, 7 for weekly)."""
    days = sorted(WEEKDAYS.index(d) for d in spec.days)
    if not days:
        return timedelta(days=7)
    return timedelta(days=max((days[(i + 1) % len(days)] - d) % 7 or 7 for i, d in enumerate(days)))


def cron_trigger_args(spec: ScheduleSpec) -> dict:
    """CronTrigger fields for a spec: weekday NAMES, never numbers (0 is Monday in APScheduler 3.x)."""
    return {"day_of_week": ",".join(d for d in WEEKDAYS if d in spec.days), "hour": spec.hour,
            "minute": spec.minute, "second": 0}


class Daemon:
    """Runs `child_argv` (a `travelsync ... backup --if-due`) at the slots, after suspends, at start."""

    def __init__(self, schedule: Schedule, child_argv: list[str], *, log: Callable[[str], None],
                 zone: tzinfo | None = None, heartbeat: float = HEARTBEAT_SECONDS,
                 every: float | None = None, every_argv: list[str] | None = None,
                 now: Callable[[], datetime] | None = None, env: dict | None = None,
                 after_backup: list | None = None, offsite_jobs: list | None = None):
        from travelsync import clock

        self.schedule = schedule
        self.zone = zone_for(schedule) if zone is None else zone
        self.child_argv = child_argv
        self.every = every
        self.every_argv = every_argv or child_argv
        self.heartbeat = heartbeat
        self.log = log
        self.now = now or clock.now
        self.env = env
        self.busy = threading.Lock()
        self.stopping = threading.Event()
        self.child: subprocess.Popen | None = None
        self.handled_slot: datetime | None = None  # the newest slot a check has completed for
        self.retry_at = 0.0  # monotonic
        self.scheduler = None
        self.runs = 0
        self.after_backup = list(after_backup or [])  # argvs run after a backup that succeeded: `offsite sync NAME`
        self.offsite_jobs = list(offsite_jobs or [])  # (ScheduleSpec, argv): copies with their own schedule

    # -- jobs ---------------------------------------------------------------------------------

    def check(self, reason: str) -> None:
        """Run the child unless the heartbeat finds this slot already handled or a retry pending."""
        slot = last_slot(self.schedule, self.now(), self.zone)
        if reason == "heartbeat":
            fresh_slot = slot is not None and (self.handled_slot is None or slot.instant > self.handled_slot)
            if not fresh_slot or time.monotonic() < self.retry_at:
                return
        code = self.run_child(self.child_argv, reason)
        if code is None:
            return
        if code in (0, 3):
            self.handled_slot = slot.instant if slot else None
            self.retry_at = 0.0
            for argv in self.after_backup:  # the off-site copies follow each backup (issue 19)
                self.run_child(argv, f"after the backup ({reason})")
        else:
            self.retry_at = time.monotonic() + RETRY_SECONDS

    def every_tick(self) -> None:
        self.run_child(self.every_argv, "every")

    def run_child(self, argv: list[str], reason: str) -> int | None:
        """Run one backup child; None when skipped (one already running, or stopping)."""
        if self.stopping.is_set() or not self.busy.acquire(blocking=False):
            return None
        try:
            if self.stopping.is_set():
                return None
            started = time.monotonic()
            what = next((w for w in ("backup", "offsite") if w in argv), None)
            self.log(f"{reason}: running {' '.join(argv[argv.index(what):] if what else argv)}")
            self.child = subprocess.Popen(argv, start_new_session=True, env=self.env, stdin=subprocess.DEVNULL)
            code = self.child.wait()
            self.child = None
            self.runs += 1
            self.log(f"{reason}: {what or 'backup'} exited {code} after {time.monotonic() - started:.1f} s")
            return code
        finally:
            self.busy.release()

    # -- life cycle ---------------------------------------------------------------------------

    def build(self):
        from apscheduler.executors.pool import ThreadPoolExecutor
        from apscheduler.schedulers.blocking import BlockingScheduler
        from apscheduler.triggers.cron import CronTrigger
        from apscheduler.triggers.interval import IntervalTrigger

        scheduler = BlockingScheduler(timezone=self.zone, executors={"default": ThreadPoolExecutor(4)},
                                      job_defaults={"coalesce": True, "max_instances": 1})
        for name, spec in (("full", self.schedule.full), ("incremental", self.schedule.incremental)):
            scheduler.add_job(self.check, CronTrigger(timezone=self.zone, **cron_trigger_args(spec)),
                              args=[f"{name} slot"], id=name, name=f"{name} {spec.text}", coalesce=True,
                              max_instances=1, misfire_grace_time=int(spec_gap(spec).total_seconds()))
        scheduler.add_job(self.check, IntervalTrigger(seconds=self.heartbeat, timezone=self.zone),
                          args=["heartbeat"], id="heartbeat", coalesce=True, max_instances=1,
                          misfire_grace_time=None)
        # The catch-up check at start: one run if the repository missed a slot while we were down.
        scheduler.add_job(self.check, "date", args=["start"], id="start", misfire_grace_time=None)
        for index, (spec, argv) in enumerate(self.offsite_jobs):
            scheduler.add_job(self.run_child, CronTrigger(timezone=self.zone, **cron_trigger_args(spec)),
                              args=[argv, f"offsite slot {spec.text}"], id=f"offsite-{index}", coalesce=True,
                              max_instances=1, misfire_grace_time=int(spec_gap(spec).total_seconds()))
        if self.every:
            scheduler.add_job(self.every_tick, IntervalTrigger(seconds=self.every, timezone=self.zone),
                              id="every", misfire_grace_time=None)
        self.scheduler = scheduler
        return scheduler

    def stop(self, signum=None, frame=None) -> None:
        """SIGTERM/SIGINT: stop scheduling, ask the running backup to stop at a safe point."""
        if self.stopping.is_set():
            return
        self.stopping.set()
        self.log(f"{signal.Signals(signum).name if signum else 'stop'}: stopping")
        self.signal_child(signal.SIGTERM)
        if self.scheduler is not None and self.scheduler.running:
            self.scheduler.shutdown(wait=False)

    def signal_child(self, signum) -> None:
        child = self.child
        if child is not None and child.poll() is None:
            try:
                os.killpg(child.pid, signum)
            except ProcessLookupError:
                pass

    def run(self) -> int:
        scheduler = self.build()
        previous = {sig: signal.signal(sig, self.stop) for sig in (signal.SIGTERM, signal.SIGINT)}
        try:
            self.log(f"scheduler started: full {self.schedule.full.text}, incremental "
                     f"{self.schedule.incremental.text} ({getattr(self.zone, 'key', self.zone)}), "
                     f"heartbeat every {self.heartbeat:g} s")
            scheduler.start()
        finally:
            self.stopping.set()
            if not self.busy.acquire(timeout=STOP_TIMEOUT):
                self.log(f"the backup did not stop within {STOP_TIMEOUT:g} s: killing it")
                self.signal_child(signal.SIGKILL)
                self.busy.acquire(timeout=10)
            for sig, handler in previous.items():
                signal.signal(sig, handler)
        self.log("stopped")
        return 0


def child_command(config_path, mode: str = "--if-due") -> list[str]:
    """`python -m travelsync --config FILE --quiet backup --if-due`, with this interpreter."""
    return [sys.executable, "-m", "travelsync", "--config", str(config_path), "--quiet", "backup", mode]


def offsite_commands(config_path, copies) -> tuple[list, list]:
    """(argvs run after each successful backup, [(ScheduleSpec, argv)] for copies with their own
    `schedule:`): `python -m travelsync --config FILE --quiet offsite sync NAME`."""
    base = [sys.executable, "-m", "travelsync", "--config", str(config_path), "--quiet", "offsite", "sync"]
    after = [base + [copy.name] for copy in copies if copy.schedule is None]
    timed = [(copy.schedule, base + [copy.name]) for copy in copies if copy.schedule is not None]
    return after, timed
