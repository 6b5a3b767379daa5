# Replace a mail client's config file on this machine for travelsync (travelsync/mail/remote.py,
# `put_answer`), run by the remote shell as  sh -c "<this file>" travelsync FILE TEMP SHA256
# with the new bytes on stdin. TEMP (a new name beside FILE) gets the bytes, private from its
# first byte, then FILE's mode and owner, and is renamed over FILE only if FILE still holds
# what travelsync read (its SHA256).
#
# Exit 0   replaced.
# Exit 90  TEMP could not be created or written.
# Exit 91  TEMP could not be given FILE's mode.
# Exit 92  FILE changed since travelsync read it.
# Exit 93  the rename failed.
# On every failure FILE is as it was and TEMP is gone; the failing command's message is on stderr.
umask 077
r=$1 t=$2 want=$3
# TEMP is created first, refusing a name that exists (so a failure removes only what this made)
set -C
: > "$t" || exit 90
set +C
cat > "$t" || { rm -f -- "$t"; exit 90; }
chmod --reference="$r" -- "$t" && { chown --reference="$r" -- "$t" 2>/dev/null || true; } || { rm -f -- "$t"; exit 91; }
if [ "$(sha256sum < "$r" | cut -d' ' -f1)" != "$want" ]; then rm -f -- "$t"; exit 92; fi
sync -- "$t" 2>/dev/null
mv -f -- "$t" "$r" || { rm -f -- "$t"; exit 93; }
