# What went from the folders a backup saw change (backup/change_record.py), run here with sh
# for a local repository and over ssh for a remote one, as
#   sh -c "<this file>" travelsync PARENT NEW
# with the folders (`./dir/sub`, `.` for the source's own) NUL-separated on stdin. PARENT and
# NEW are the same source in the parent snapshot and in the new one. Prints `./dir/sub/name`,
# NUL-terminated, for each entry of a folder in PARENT that NEW's folder lacks. Each folder is
# read once on each side (no stat of its entries); sort and comm keep memory flat.
# Exit 0 with the list; anything else: the list is unknown.
umask 077
parent=$1 new=$2
work=$(mktemp -d) || exit 1
trap 'rm -rf -- "$work"' EXIT
cat > "$work/folders" || exit 1
entries() {
    cd -- "$1" || return 1
    xargs -0 -r sh -c 'find "$@" -mindepth 1 -maxdepth 1 -printf "%p\0"' find < "$work/folders" > "$work/raw" || return 1
    LC_ALL=C sort -z "$work/raw"
}
entries "$parent" > "$work/old" || exit 1
entries "$new" > "$work/now" || exit 1
LC_ALL=C comm -z -23 "$work/old" "$work/now"
