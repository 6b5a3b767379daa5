# Check a mail client's config with the client's own parser on this machine, for travelsync
# (travelsync/mail/remote.py, `check_answer`), run by the remote shell as
#   sh -c "<this file>" travelsync FOLDER FILE COPY KEEP_OUT CHECKER [ARGUMENT]...
# with the text to check on stdin. FOLDER is made private (0700) and removed on every exit;
# COPY (inside it) gets the text and FILE's mode and owner; then CHECKER runs on it.
#
# Exit      the checker's own status: 0 it accepts the text (its output on stdout when
#           KEEP_OUT is 1, never otherwise: it may hold passwords); else its message on stderr.
# Exit 127  the checker is not installed here.
# Exit 90   the private folder or the copy could not be written.
# Exit 91   the copy could not be given FILE's mode.
umask 077
d=$1 r=$2 t=$3 keep_out=$4; shift 4
mkdir -m 700 -- "$d" || exit 90
trap 'rm -rf -- "$d"' EXIT
cat > "$t" || exit 90
chmod --reference="$r" -- "$t" && { chown --reference="$r" -- "$t" 2>/dev/null || true; } || exit 91
if command -v "$1" >/dev/null 2>&1; then "$@" >"$d/.out" 2>"$d/.err"; rc=$?; else rc=127; fi
[ "$rc" = 0 ] && [ "$keep_out" = 1 ] && cat -- "$d/.out"
[ "$rc" = 0 ] || [ "$rc" = 127 ] || cat -- "$d/.err" >&2
exit "$rc"
