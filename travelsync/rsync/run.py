"""Run rsync through `sh`, streaming its output line by line; keep counts, never a file list.

    result = run_rsync(argv, on_item=print_item, on_progress=bar.update)

Output is split on both `\n` and `\r` (rsync ends `--info=progress2` lines with `\r`), then
routed: itemized lines (`>f+++++++++ name`) to `on_item(code, name)`, progress lines to
`on_progress(Progress)`, `--stats` lines into `RsyncResult.stats`. Memory stays flat however
many files rsync reports: only counts and at most `MAX_NAMES` failed/vanished names are kept.
An `on_item` that raises (e.g. `StopTransfer` after the first change) stops rsync, and the
exception reaches the caller.

With the listing format (rsync/itemize.py, argv holding `--out-format=LISTING_FORMAT`),
`on_file(code, size, checksum, name)` gets every regular file's line as bytes (or
`on_files(lines)` the raw lines of each chunk at once: the backup builds its manifest from
them), and `on_item` only the items that changed, as under `-i`.

Why `sh`, and which of its options: `sh` starts rsync, puts it in its own process group, sets
the parent-death signal in the child, delivers our signals and reaps it (the product brief
names sh as the way rsync is run). Its stdout and stderr are handed to rsync as plain pipe
*files* (`_out=`/`_err=` file objects: sh dups them into the child and runs no reader thread of
its own), and this module reads them itself in 64 KiB chunks with `select`. Measured (sh 2.4,
500,000 lines, 93 MiB) against the alternatives:
  * `_out=callback`: ~105 ms a run (sh's 0.1 s poll loop before a callback stream ends).
  * `_iter=True, _out_bufsize=1 MiB`: ~5 ms a run, but sh keeps every chunk in its
    `_internal_bufsize` deque (+124 MiB peak; `_no_out` is refused together with `_iter`;
    `_internal_bufsize=0` keeps nothing), its hand-over queue is unbounded (a consumer slower
    than rsync grows memory: no back-pressure on rsync), a `\r`-ended progress line waits for a
    full 1 MiB chunk (a frozen progress bar), and text must be re-encoded to recover rsync's bytes.
  * pipe files (this module): ~3-6 ms a run over subprocess, nothing buffered in sh, rsync held
    back by the pipe when we parse slower, bytes as rsync wrote them, stderr on its own pipe
    (stats.py routes the two streams differently), `F_SETPIPE_SZ` 1 MiB on our pipe.
The options: `_bg=True` (return at once; we read while it runs), `_bg_exc=False` (no traceback
printed from sh's thread), `_ok_code=range(256)` (an exit status is rsync's answer, mapped by the
caller: sh must not raise; a death by signal still raises `SignalException`, turned into
`RsyncResult.signal`), `_in=` /dev/null (no stdin thread), `_new_group=True` (an early stop
SIGKILLs rsync's whole group: its receiver, its ssh), `_preexec_fn` (PR_SET_PDEATHSIG, run by
sh in the child after its own set-up). `import sh` (~65-80 ms, asyncio included) happens inside
the functions, once per process, so `travelsync --help` never pays it.
"""

import fcntl
import os
import select
import signal
import sys
import threading
import time
from dataclasses import dataclass, field

from travelsync.process import die_with_parent
from travelsync.rsync import itemize
from travelsync.rsync.stats import ITEM, PROGRESS, Stats, failed_file, number, vanished_name

MAX_NAMES = 100  # failed / vanished names kept for the report; the rest are only counted
NO_SPACE = "No space left on device"
OK_CODES = range(256)  # every exit status is rsync's answer for the caller to map, none raises in sh
F_SETPIPE_SZ = 1031  # fcntl.F_SETPIPE_SZ (Linux), absent from the fcntl module before Python 3.10
PIPE_SIZE = 1 << 20  # rsync runs ahead by up to 1 MiB while we parse
# rsync's ssh, when it joins the shared connection (shared_ssh.py), hands its stdio (our stderr
# pipe included) to the ssh master, which keeps them until the remote side confirms the session's
# end. Over a silent link that is never (until the master's keep-alives give up), so the pipe's
# end-of-file is waited for only this long once rsync itself has exited: its last words are in.
DRAIN_SECONDS = 1.0
STOP_SECONDS = 2.0  # rsync's clean-up after SIGTERM, before SIGKILL


class StopTransfer(Exception):
    """Raised by a callback to stop rsync early (a change check found its first change)."""


@dataclass(frozen=True)
class Progress:
    bytes: int  # bytes of file data done so far
    percent: int
    rate: str  # as rsync prints it, e.g. "12.34MB/s"
    eta: str
    transferred: int | None = None  # files sent so far (xfr#)
    to_check: int | None = None
    total: int | None = None


@dataclass
class RsyncResult:
    """What one rsync run did. `bytes_transferred` is rsync's "Literal data": the file data
    actually sent (the delta algorithm's matched data and protocol overhead excluded);
    `stats.bytes_sent/bytes_received` are the on-the-wire totals."""

    exit_code: int
    stats: Stats = field(default_factory=Stats)
    seconds: float = 0.0
    items: int = 0  # itemized lines seen (changes), counted, never kept
    failed_files: list = field(default_factory=list)  # at most MAX_NAMES
    failed_count: int = 0
    vanished_files: list = field(default_factory=list)
    vanished_count: int = 0
    error_lines: list = field(default_factory=list)  # last stderr lines, at most MAX_NAMES
    no_space: bool = False  # rsync said "No space left on device"
    signal: int | None = None  # rsync was killed by this signal

    @property
    def files_transferred(self) -> int:
        return self.stats.files_transferred

    @property
    def bytes_transferred(self) -> int:
        return self.stats.literal_data

    @property
    def total_size(self) -> int:
        return self.stats.total_size

    def error_summary(self) -> str:
        return self.error_lines[-1] if self.error_lines else f"rsync exit status {self.exit_code}"


def _parse_progress(text: str) -> Progress | None:
    match = PROGRESS.match(text)
    if not match:
        return None
    get = match.group
    return Progress(number(get("bytes")), int(get("percent")), get("rate"), get("eta"),
                    int(get("xfr")) if get("xfr") else None, int(get("left")) if get("left") else None,
                    int(get("total")) if get("total") else None)


class _LineSplitter:
    """Feed raw byte chunks; get whole lines (split on \\n or \\r), decoded leniently, or as
    bytes with `raw=True`."""

    def __init__(self, handle_line, raw: bool = False):
        self.pending = b""
        self.handle_line = handle_line
        self.raw = raw

    def feed(self, chunk: bytes) -> None:
        data = self.pending + chunk if self.pending else chunk
        handle, raw = self.handle_line, self.raw
        *lines, tail = data.split(b"\n")
        for line in lines:
            if b"\r" in line:
                *parts, line = line.split(b"\r")
                for part in parts:
                    if part:
                        handle(part if raw else part.decode("utf-8", "replace"), True)
            if line:
                handle(line if raw else line.decode("utf-8", "replace"), False)
        if b"\r" in tail:  # progress lines end with \r alone: hand them over now
            *parts, tail = tail.split(b"\r")
            for part in parts:
                if part:
                    handle(part if raw else part.decode("utf-8", "replace"), True)
        self.pending = tail

    def close(self) -> None:
        if self.pending:
            self.handle_line(self.pending if self.raw else self.pending.decode("utf-8", "replace"), False)
            self.pending = b""


class _ListingSplitter:
    """Feed raw byte chunks of listing-format output; complete `\\n` lines go to
    handle_lines(list) a chunk at a time; `\\r`-terminated progress lines to
    handle_line(text, True) at once."""

    def __init__(self, handle_lines, handle_line):
        self.pending = b""
        self.handle_lines, self.handle_line = handle_lines, handle_line

    def feed(self, chunk: bytes) -> None:
        data = self.pending + chunk if self.pending else chunk
        *lines, tail = data.split(b"\n")
        if b"\r" in data:
            lines = self._progress(lines)
            if b"\r" in tail:
                *parts, tail = tail.split(b"\r")
                for part in parts:
                    if part:
                        self.handle_line(part.decode("utf-8", "replace"), True)
        if lines:
            self.handle_lines(lines)
        self.pending = tail

    def _progress(self, lines: list) -> list:
        kept = []
        for line in lines:
            if b"\r" in line:
                *parts, line = line.split(b"\r")
                if kept:
                    self.handle_lines(kept)
                    kept = []
                for part in parts:
                    if part:
                        self.handle_line(part.decode("utf-8", "replace"), True)
            if line:
                kept.append(line)
        return kept

    def close(self) -> None:
        if self.pending:
            self.handle_lines([self.pending])
            self.pending = b""


class _Spawned:
    """rsync started by `sh`, writing into two pipes this process reads itself."""

    def __init__(self, running, out_read: int, err_read: int):
        self.running = running  # sh's RunningCommand
        self.process = running.process  # sh's OProc: signals, exit code
        self.out_read, self.err_read = out_read, err_read

    def wait(self) -> int | None:
        """Reap rsync; the signal that killed it, or None."""
        import sh

        try:
            self.running.wait()
        except sh.SignalException:
            pass
        code = self.process.exit_code
        return -code if code is not None and code < 0 else None

    @property
    def exit_code(self) -> int | None:
        return self.process.exit_code


FILE_NAME_CODEC = "travelsync-file-names"


def _file_name_codec() -> str:
    """A codec for sh that encodes arguments as the OS does file names (os.fsencode): a name
    that is not UTF-8 (`caf\\xe9.txt`, held as a surrogate escape) reaches rsync as its own
    bytes. sh encodes with a plain codec, which failed on it (UnicodeEncodeError)."""
    import codecs

    def search(name):
        if name != FILE_NAME_CODEC.replace("-", "_"):
            return None
        encoding = sys.getfilesystemencoding()
        return codecs.CodecInfo(name=FILE_NAME_CODEC,
                                encode=lambda text, errors="strict": (os.fsencode(text), len(text)),
                                decode=lambda data, errors="strict": (bytes(data).decode(encoding, "surrogateescape"),
                                                                      len(data)))

    try:
        codecs.lookup(FILE_NAME_CODEC)
    except LookupError:
        codecs.register(search)
    return FILE_NAME_CODEC


def _spawn(argv: list[str], env) -> _Spawned:
    """Start `argv` through sh, its stdout and stderr on pipes of our own (see the module
    docstring for why these options)."""
    import sh

    search = env["PATH"].split(os.pathsep) if env and env.get("PATH") else None  # as execvpe would
    try:
        program = sh.Command(argv[0], search_paths=search)
    except sh.CommandNotFound:
        from travelsync.process import ProgramMissing

        raise ProgramMissing(f"{argv[0]}: not found (install the rsync package)") from None
    out_read, out_write = os.pipe()
    err_read, err_write = os.pipe()
    try:
        fcntl.fcntl(out_write, F_SETPIPE_SZ, PIPE_SIZE)
    except OSError:  # above /proc/sys/fs/pipe-max-size or not Linux: the default 64 KiB
        pass
    try:
        with open(out_write, "wb") as out_file, open(err_write, "wb") as err_file, \
                open(os.devnull, "rb") as nothing:
            running = program(*argv[1:], _in=nothing, _out=out_file, _err=err_file, _bg=True, _bg_exc=False,
                              _ok_code=OK_CODES, _env=env, _preexec_fn=die_with_parent(), _new_group=True,
                              _encoding=_file_name_codec())
    except BaseException:
        os.close(out_read)
        os.close(err_read)
        raise
    return _Spawned(running, out_read, err_read)


def run_rsync(argv: list[str], *, on_item=None, on_progress=None, env=None,
              cancel: threading.Event | None = None, on_file=None, on_files=None) -> RsyncResult:
    """Run `argv` (argv[0] is the rsync program) to completion; return its RsyncResult.

    Never raises for a non-zero exit: the caller maps `exit_code` (see backup.outcome).
    `cancel`: when set, rsync gets SIGTERM (it keeps the partial file) and the run returns.
    Raises what `on_item`/`on_progress` raised, after stopping rsync.
    """
    result = RsyncResult(exit_code=0)
    raised: list[BaseException] = []
    state = {"process": None}

    def stop_rsync(kill: bool = False):
        """SIGTERM lets rsync keep a half-sent file (--partial) but it then lingers ~0.5 s over
        its clean-up; a callback's early stop (a dry run) has nothing to keep: SIGKILL to rsync's
        whole process group (its receiver, its ssh). A SIGTERM not obeyed within STOP_SECONDS
        (rsync blocked writing to an ssh whose link went silent) becomes that SIGKILL."""
        process = state["process"]
        if process is not None and process.exit_code is None:
            if state.setdefault("terminated", time.monotonic()) < time.monotonic() - STOP_SECONDS:
                kill = True
            try:
                process.signal_group(signal.SIGKILL) if kill else process.terminate()
            except OSError:  # already gone
                pass

    def listing_lines(lines: list) -> None:
        """The listing format: every item (-ii) with size and checksum; the hot path, one
        call per chunk of output."""
        if raised:
            return
        files = []
        try:
            for raw in lines:
                if raw[11:12] != b" " or not item_code(raw):
                    stdout_line(raw.decode("utf-8", "replace"), False)
                    continue
                if follower in raw:
                    result.stats.hard_link_followers += 1  # a name holding " => " counts too: on the safe side
                if raw[1:2] == b"f" and raw[:1] != b"*":
                    files.append(raw)
                if raw[2:11] != unchanged or raw[:1] == b"*":
                    result.items += 1
                    if on_item is not None:
                        code, _size, _checksum, name = split_listing(raw)
                        on_item(code.decode("ascii", "replace"), name.decode("utf-8", "replace"))
            if files:
                if on_files is not None:
                    on_files(files)
                elif on_file is not None:
                    for raw in files:
                        on_file(*split_listing(raw))
        except BaseException as error:  # from a callback: stop rsync, re-raise in the caller
            raised.append(error)
            stop_rsync(kill=True)

    item_code, split_listing, unchanged = itemize.ITEM_CODE.match, itemize.split_listing, itemize.UNCHANGED
    follower = itemize.FOLLOWER

    def stdout_line(line: str, carriage_return: bool) -> None:
        if raised:
            return
        try:
            item = ITEM.match(line)
            if item:
                result.items += 1
                if on_item is not None:
                    on_item(item.group("code"), item.group("name"))
                return
            if result.stats.absorb(line):
                return
            progress = _parse_progress(line)
            if progress is not None and on_progress is not None:
                on_progress(progress)
        except BaseException as error:  # from a callback: stop rsync, re-raise in the caller
            raised.append(error)
            stop_rsync(kill=True)

    def stderr_line(line: str, carriage_return: bool) -> None:
        if NO_SPACE in line:
            result.no_space = True
        name = vanished_name(line)
        if name is not None:
            result.vanished_count += 1
            if len(result.vanished_files) < MAX_NAMES:
                result.vanished_files.append(name)
            return
        name = failed_file(line)
        if name is not None:
            result.failed_count += 1
            if len(result.failed_files) < MAX_NAMES:
                result.failed_files.append(name)
        result.error_lines.append(line)
        del result.error_lines[:-MAX_NAMES]

    listing = f"--out-format={itemize.LISTING_FORMAT}" in argv
    out = _ListingSplitter(listing_lines, stdout_line) if listing else _LineSplitter(stdout_line)
    err = _LineSplitter(stderr_line)
    started = time.monotonic()
    process = _spawn(argv, env)
    out_read, err_read = process.out_read, process.err_read
    try:
        state["process"] = process.process
        readers = {out_read: out, err_read: err}
        gone_at = None  # when rsync was seen to have exited
        while readers:
            if cancel is not None and cancel.is_set():
                stop_rsync()
            ready, _, _ = select.select(list(readers), [], [], 0.2)
            for fd in ready:
                chunk = os.read(fd, 1 << 16)
                if chunk:
                    readers[fd].feed(chunk)
                else:
                    del readers[fd]
            if not ready:  # quiet for 0.2 s: is rsync still there? (never asked on the busy path)
                if gone_at is None and not process.process.is_alive()[0]:
                    gone_at = time.monotonic()
                elif gone_at is not None and time.monotonic() - gone_at > DRAIN_SECONDS:
                    break  # rsync is gone; its stderr is held open by another process (see DRAIN_SECONDS)
        out.close()
        err.close()
        result.signal = process.wait()
    except BaseException:  # KeyboardInterrupt included: rsync keeps its partial file
        stop_rsync()
        deadline = time.monotonic() + STOP_SECONDS + 0.5
        while process.process.is_alive()[0] and time.monotonic() < deadline:  # reaped, not left behind
            time.sleep(0.05)
            stop_rsync()
        raise
    finally:
        os.close(out_read)
        os.close(err_read)
    exit_code = process.exit_code
    if result.signal is None and exit_code is not None and exit_code < 0:
        result.signal = -exit_code
    result.exit_code = 128 + result.signal if result.signal else (exit_code or 0)
    result.seconds = time.monotonic() - started
    if raised:
        raise raised[0]
    return result
