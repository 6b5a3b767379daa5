"""rsync receivers that a stopped run left writing on the far side of a silent link.

A run stopped while the link is silent (SIGTERM, Ctrl-C, or its connection given up) cannot
tell the far side's rsync to stop: that receiver lives on until its connection's end reaches
it (when the link returns) or its `--timeout` passes. Then it keeps its partial file
(`--partial`): it renames the half-received file over the file's own name. By then the next
run may have written that file in full, even committed the snapshot holding it: the silent-link
drill found the first 96 KiB of a 600 KiB file in a snapshot listed complete.

So a backup into a remote repository, once it holds the writer lock, first ends every rsync
receiver still writing under the repository's `partial/`: under that lock they can only be an
earlier run's. (`backup --dry-run` takes no lock: its receiver, writing nothing into
`partial/dry-run/`, is left alone; so are senders: restores read from `snapshots/`.)
"""

import shlex

# Linux's /proc and pgrep (procps or busybox) on the far side. rsync (3.2.4 and later) hides
# its server arguments, the destination included: a receiver is known by its working folder,
# its destination (rsync changes into it). Without pgrep nothing is found (and nothing ended).
SCRIPT = """folder=$(cd -- {folder} 2>/dev/null && pwd -P) || {{ echo 0; exit 0; }}
receivers() {{
  for pid in $(pgrep -f '^([^ ]*/)?rsync --server' 2>/dev/null); do
    case "$(tr '\\000' ' ' 2>/dev/null < "/proc/$pid/cmdline")" in *" --sender "*) continue ;; esac
    where=$(readlink "/proc/$pid/cwd" 2>/dev/null) || continue
    case "$where/" in "$folder/dry-run/"*) ;; "$folder/"*) echo "$pid" ;; esac
  done
}}
ended=0
for attempt in 1 2 3 4 5; do
  found=$(receivers)
  [ -n "$found" ] || break
  [ "$attempt" = 1 ] && ended=$(echo "$found" | wc -l)
  kill -9 $found 2>/dev/null
  sleep 0.2
done
echo "$ended"
"""


def script(folder: str) -> str:
    """The remote script that ends the rsync receivers writing under `folder` and prints how
    many it found."""
    return SCRIPT.format(folder=shlex.quote(folder.rstrip("/")))


def end_stale_receivers(run_remote, folder: str) -> int:
    """Run `script(folder)` with `run_remote(script) -> Completed`; the number of rsync
    processes (a receiver is two: receiver and generator) that were ended."""
    done = run_remote(script(folder))
    try:
        return int(done.text().strip().splitlines()[-1])
    except (ValueError, IndexError):
        return 0
