# Everything a command needs to know about a repository, in one ssh round trip, for travelsync
# (travelsync/repository/remote_store.py, `read_overview`), run by the remote shell as
#   sh -c "<this file>" travelsync ROOT REPO_FILE LATEST PARTIAL SNAPSHOTS SNAPSHOT_FILE [PATTERN]...
# (the names of repository/layout.py; each PATTERN a shell glob, relative to ROOT, where a
# repository holds no symlink).
#
# Exit 0, stdout: tagged records, each field ended by a NUL byte:
#   R <travelsync.repo in base64>            the repository file
#   E <empty>                                ROOT holds nothing but `lock`
#   L <target>                               the `latest` link
#   P <name>                                 a partial snapshot
#   S <name> Y<snapshot.json in base64>      a snapshot folder; `N` instead of Y…: no snapshot.json,
#                                            `Y…!`: reading it failed
#   X <name> <target>                        a symlink where a repository holds none
# Nothing at all: ROOT does not exist (or cannot be entered).
# Every file travels in base64: a damaged one (zeroed by a power cut) may hold NUL bytes.
umask 077
root=$1 repo_file=$2 latest=$3 partial=$4 snapshots=$5 snapshot_file=$6
shift 6
cd -- "$root" 2>/dev/null || exit 0
if [ -f "$repo_file" ]; then printf 'R\0'; base64 -w0 -- "$repo_file"; printf '\0'; fi
[ -n "$(ls -A | grep -vx lock)" ] || printf 'E\0\0'
if [ -L "$latest" ]; then printf 'L\0'; readlink -- "$latest" | tr -d '\n'; printf '\0'; fi
for n in "$partial"/*; do { [ -e "$n" ] || [ -L "$n" ]; } && printf 'P\0%s\0' "${n#"$partial"/}"; done
for d in "$snapshots"/*; do
  [ -d "$d" ] || continue
  printf 'S\0%s\0' "${d#"$snapshots"/}"
  if [ -f "$d/$snapshot_file" ]; then printf Y; base64 -w0 -- "$d/$snapshot_file" 2>/dev/null || printf '!'
  else printf N; fi
  printf '\0'
done
for pattern; do
  for n in $pattern; do
    [ -L "$n" ] && { printf 'X\0%s\0' "$n"; readlink -- "$n" | tr -d '\n'; printf '\0'; }
  done
done
true
