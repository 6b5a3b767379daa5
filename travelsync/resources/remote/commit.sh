# The commit protocol of a repository reached over ssh (docs/backup.md, "Crash safety"),
# run by the remote shell as  sh -c "<this file>" travelsync ROOT PARTIAL TARGET LATEST
# with snapshot.json on stdin. PARTIAL, TARGET and LATEST are relative to ROOT.
#
# Exit 0   committed, `latest` swapped.
# Exit 10  nothing committed: the partial snapshot is kept for the next run.
# Exit 11  committed (listed complete), but a later step failed; the last line on stdout,
#          `latest <link target>`, says where `latest` points now.
# The failing command's message is on stderr; no temporary file is left on any exit.
umask 077
root=$1 partial=$2 target=$3 latest=$4
json=$partial/snapshot.json
link=.$latest.tmp
cd -- "$root" || exit 10
nothing() { rm -f -- "$json.tmp"; exit 10; }
unfinished() { rm -f -- "$link"; printf 'latest %s\n' "$(readlink -- "$latest" 2>/dev/null)"; exit 11; }
# 1. rsync's files and the manifest durable before anything says they are complete
sync -f "$partial" || nothing
# 2. snapshot.json, durable, then its folder
{ cat > "$json.tmp" && sync "$json.tmp" && mv -f -- "$json.tmp" "$json" && sync "$partial"; } || nothing
# 3. the commit point
mv -T -- "$partial" "$target" || nothing
# 4. the rename durable, then `latest` swapped by renaming a new link over it
sync "$(dirname -- "$partial")" "$(dirname -- "$target")" || unfinished
{ rm -f -- "$link" && ln -s -- "$target" "$link" && mv -T -- "$link" "$latest"; } || unfinished
sync . || unfinished
