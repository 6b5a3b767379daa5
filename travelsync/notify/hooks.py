"""Tell the person how a backup went: a command, a Healthchecks-style URL, local mail.

Called by the backup command: `notify_start(config)` once a run has begun (lock held, something
to do) and `notify_outcome(config, report)` when it ends, however it ends. Every notifier is
best effort: a failure is logged and returned as a line of text, never raised, so a broken
notifier can never change the backup's exit status.

- `notify.command`: run through `/bin/sh -c` on failure (and on success with
  `on_success: true`), the outcome in TRAVELSYNC_* environment variables (see `outcome_env`).
- `notify.url`: pinged at start (`URL/start`), on success (`URL`) and on failure (`URL/fail`),
  as Healthchecks.io and compatible services expect; the request body is the summary line.
- `notify.mail_to`: a mail through the local `sendmail -t` (if installed) on failure, and on
  success with `on_success: true`.

Success means exit status 0 or 3 (completed with warnings); anything else is a failure.
With `offsite:` copies every notification also says each copy's age (TRAVELSYNC_OFFSITE, in
the summary line), and a copy older than its `warn_after` is told even after a success.
"""

import logging
import os
import shutil
import socket
from dataclasses import dataclass
from email.message import EmailMessage
from typing import Any, Mapping

from travelsync.exitcodes import ExitStatus

log = logging.getLogger("travelsync.notify")

COMMAND_TIMEOUT = 60.0  # seconds
URL_TIMEOUT = 10.0  # seconds: a dead monitoring service must not hold the backup up
MAIL_TIMEOUT = 30.0
SENDMAIL_PLACES = ("/usr/sbin/sendmail", "/usr/lib/sendmail")
STATUS_WORDS = {0: "success", 3: "warnings", 1: "failure", 2: "usage", 75: "temporary"}


@dataclass(frozen=True)
class Outcome:
    """A backup's result in plain values (from a BackupReport or the dict of its JSON)."""

    exit_status: int
    snapshot: str | None = None
    kind: str | None = None
    files_transferred: int | None = None
    bytes_transferred: int | None = None
    seconds: float | None = None
    warnings: tuple[str, ...] = ()
    message: str | None = None
    offsite: str | None = None  # each off-site copy's age (offsite/status.py), when any is configured

    @property
    def ok(self) -> bool:
        return self.exit_status in (ExitStatus.SUCCESS, ExitStatus.WARNINGS)

    @property
    def status_word(self) -> str:
        return STATUS_WORDS.get(int(self.exit_status), "failure")

    def summary(self) -> str:
        parts = [f"travelsync backup on {socket.gethostname()}: {self.status_word} (exit {int(self.exit_status)})"]
        if self.snapshot:
            parts.append(f"snapshot {self.snapshot}")
        if self.files_transferred is not None:
            parts.append(f"{self.files_transferred} files")
        if self.bytes_transferred is not None:
            parts.append(f"{self.bytes_transferred} bytes")
        if self.seconds is not None:
            parts.append(f"{self.seconds:.1f} s")
        if self.warnings:
            parts.append(f"{len(self.warnings)} warnings")
        if self.message:
            parts.append(self.message)
        if self.offsite:
            parts.append(f"off-site {self.offsite}")
        return ", ".join(parts)


def as_outcome(report: Any) -> Outcome:
    """Accept an Outcome, a BackupReport-like object or a dict (missing fields stay None)."""
    if isinstance(report, Outcome):
        return report
    get = report.get if isinstance(report, Mapping) else (lambda key, default=None: getattr(report, key, default))
    status = get("exit_status", None)
    if status is None:
        status = get("exit_code", ExitStatus.FAILURE)
    snapshot = get("snapshot", None)
    if snapshot is not None and not isinstance(snapshot, str):
        snapshot = getattr(snapshot, "id", None) or str(snapshot)
    warnings = get("warnings", None) or ()
    if isinstance(warnings, str):
        warnings = (warnings,)
    return Outcome(int(status), snapshot, get("kind", None), get("files_transferred", None),
                   get("bytes_transferred", None), get("seconds", None), tuple(str(w) for w in warnings),
                   get("message", None) or get("error", None))


def outcome_env(outcome: Outcome, config=None) -> dict[str, str]:
    """The TRAVELSYNC_* variables a notify command receives (empty string when unknown)."""
    def text(value):
        return "" if value is None else str(value)

    env = {
        "TRAVELSYNC_STATUS": outcome.status_word,
        "TRAVELSYNC_EXIT_CODE": str(int(outcome.exit_status)),
        "TRAVELSYNC_SNAPSHOT": text(outcome.snapshot),
        "TRAVELSYNC_KIND": text(outcome.kind),
        "TRAVELSYNC_FILES": text(outcome.files_transferred),
        "TRAVELSYNC_BYTES": text(outcome.bytes_transferred),
        "TRAVELSYNC_SECONDS": "" if outcome.seconds is None else f"{outcome.seconds:.1f}",
        "TRAVELSYNC_WARNINGS": str(len(outcome.warnings)),
        "TRAVELSYNC_MESSAGE": text(outcome.message),
        "TRAVELSYNC_OFFSITE": text(outcome.offsite),
        "TRAVELSYNC_SUMMARY": outcome.summary(),
        "TRAVELSYNC_HOST": socket.gethostname(),
    }
    if config is not None:
        env["TRAVELSYNC_REPOSITORY"] = config.repository.rsync_spec() if hasattr(config.repository, "rsync_spec") \
            else str(config.repository)
    return env


def notify_start(config, *, environ=None) -> list[str]:
    """Ping `URL/start`. Return the problems (logged, never raised)."""
    url = config.notify.url
    if not url:
        return []
    return _collect([ping(_join(url, "start"), b"")])


def notify_outcome(config, report, *, environ=None) -> list[str]:
    """Run every configured notifier for this outcome. Return the problems (logged, never raised)."""
    try:
        outcome = as_outcome(report)
    except Exception as error:  # a notifier must never break the backup
        return _collect([f"notify: cannot read the outcome: {error}"])
    settings = config.notify
    problems = []
    tell = not outcome.ok or settings.on_success
    if getattr(config, "offsite", ()):  # the copies' ages; one older than its warn_after is told
        from dataclasses import replace

        from travelsync.offsite.status import notice_text

        text, stale = notice_text(config, environ)
        outcome, tell = replace(outcome, offsite=text), tell or stale
    if settings.command and tell:
        problems.append(run_command(settings.command, outcome, config, environ))
    if settings.url:
        target = settings.url if outcome.ok else _join(settings.url, "fail")
        problems.append(ping(target, outcome.summary().encode()))
    if settings.mail_to and tell:
        problems.append(send_mail(settings.mail_to, outcome))
    return _collect(problems)


def run_command(command: str, outcome: Outcome, config=None, environ=None) -> str | None:
    """Run the user's command with the outcome in its environment; return a problem or None."""
    from travelsync import process

    env = dict(os.environ if environ is None else environ)
    env.update(outcome_env(outcome, config))
    try:
        done = process.run(["/bin/sh", "-c", command], env=env, timeout=COMMAND_TIMEOUT)
    except Exception as error:
        return f"notify command {command!r}: {error}"
    if not done.ok:
        return f"notify command {command!r} failed: {done.error_line()}"
    return None


def ping(url: str, body: bytes) -> str | None:
    """POST `body` to `url` with a short timeout; return a problem or None."""
    import urllib.error
    import urllib.request

    request = urllib.request.Request(url, data=body, method="POST",
                                     headers={"User-Agent": "travelsync", "Content-Type": "text/plain"})
    try:
        with urllib.request.urlopen(request, timeout=URL_TIMEOUT) as answer:
            answer.read(1024)
    except (urllib.error.URLError, OSError, ValueError) as error:
        from travelsync.config.load import mask_url

        reason = getattr(error, "reason", error)
        return f"notify ping {mask_url(url)}: {reason}"
    return None


def find_sendmail() -> str | None:
    found = shutil.which("sendmail")
    if found:
        return found
    return next((place for place in SENDMAIL_PLACES if os.access(place, os.X_OK)), None)


def mail_message(to: str, outcome: Outcome) -> bytes:
    message = EmailMessage()
    message["To"] = to
    message["Subject"] = outcome.summary().split(",")[0]
    message["X-Travelsync-Status"] = outcome.status_word
    body = [outcome.summary(), ""] + [f"warning: {w}" for w in outcome.warnings]
    message.set_content("\n".join(body) + "\n")
    return bytes(message)


def send_mail(to: str, outcome: Outcome, sendmail: str | None = None) -> str | None:
    """Hand a short report to the local sendmail; return a problem or None."""
    from travelsync import process

    sendmail = sendmail or find_sendmail()
    if sendmail is None:
        return f"notify mail to {to}: no sendmail on this machine (install a mail transfer agent)"
    try:
        done = process.run([sendmail, "-t", "-oi"], input=mail_message(to, outcome), timeout=MAIL_TIMEOUT)
    except Exception as error:
        return f"notify mail to {to}: {error}"
    if not done.ok:
        return f"notify mail to {to}: {sendmail} failed: {done.error_line()}"
    return None


def _join(url: str, suffix: str) -> str:
    base, query = (url.split("?", 1) + [""])[:2]
    joined = base.rstrip("/") + "/" + suffix
    return joined + ("?" + query if query else "")


def _collect(problems) -> list[str]:
    found = [p for p in problems if p]
    for problem in found:
        log.warning("%s", problem)
    return found
