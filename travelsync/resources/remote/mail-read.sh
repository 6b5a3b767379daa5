# Read a mail client's config file on this machine for travelsync (travelsync/mail/remote.py,
# `read_answer`), run by the remote shell as  sh -c "<this file>" travelsync FILE
# (FILE relative to the login's home, or absolute).
#
# Exit 0   stdout: `travelsync-ok MODE FOLDER_MODE WRITABLE REAL_PATH` (octal modes; WRITABLE
#          1 when this user may write the file's folder), a newline, then the file's bytes.
# Exit 80  no such file                  81  a symlink to a missing file
# Exit 82  a directory                   83  not a regular file
# Exit 84  this user cannot read it
# Any other status: cat failed; its message is on stderr.
umask 077
f=$1
if [ ! -e "$f" ]; then if [ -L "$f" ]; then exit 81; fi; exit 80; fi
r=$(readlink -f -- "$f") || r=$f
if [ -d "$r" ]; then exit 82; fi
if [ ! -f "$r" ]; then exit 83; fi
if [ ! -r "$r" ]; then exit 84; fi
d=$(dirname -- "$r")
w=1; [ -w "$d" ] || w=0
printf 'travelsync-ok %s %s %s %s\n' "$(stat -c %a -- "$r")" "$(stat -c %a -- "$d")" "$w" "$r"
exec cat -- "$r"
