# What travelsync needs to judge who could change a repository (repository/trust.py) on this
# machine, in one round trip (travelsync/repository/remote_store.py, `read_probe`), run by the
# remote shell as  sh -c "<this file>" travelsync CREATE PATH [PATH]...
# CREATE 1: make the first PATH first (mkdir -p, 0700 under umask 077). Then every PATH, and
# every folder above the first PATH's resolved form (readlink -f), is looked at.
#
# Exit 0, stdout: tagged records, each field ended by a NUL byte:
#   U <uid>                         the ssh user's uid
#   S <path> <mode hex> <uid> <owner name>    lstat of each path that exists
#   L <path> <target in base64>     each path that is a symlink
umask 077
create=$1
shift
if [ "$create" = 1 ]; then mkdir -p -- "$1" 2>/dev/null; fi
c=$(readlink -f -- "$1") && { q=$c; while [ "$q" != / ]; do set -- "$@" "$q"; q=$(dirname -- "$q"); done; }
printf 'U\0%s\0' "$(id -u)"
stat --printf 'S\0%n\0%f %u %U\0' -- "$@" 2>/dev/null
for p; do if [ -L "$p" ]; then printf 'L\0%s\0' "$p"; readlink -- "$p" | base64 -w0; printf '\0'; fi; done
true
