# Take a snapshot out of the listing unless someone reads it, for prune (travelsync/repository/
# remote_store.py, `retire_unless_read`), run by the remote shell as
#   sh -c "<this file>" travelsync ROOT READERS ID SOURCE TARGET
# READERS/ID is the snapshot's reader lock file (readers hold it shared with flock -s); SOURCE
# and TARGET are relative to ROOT.
#
# Exit 0   SOURCE renamed to TARGET (both folders synced), the reader lock file removed.
# Exit 76  a reader holds the snapshot: nothing was renamed.
# Any other status: a command failed; its message is on stderr.
umask 077
root=$1 readers=$2 id=$3 source=$4 target=$5
cd -- "$root" && mkdir -p -- "$readers" || exit 1
exec flock -x -n -E 76 "$readers/$id" sh -c \
  'mv -T -- "$1" "$2" && rm -f -- "$3" && sync "$(dirname -- "$1")" "$(dirname -- "$2")"' \
  travelsync "$source" "$target" "$readers/$id"
