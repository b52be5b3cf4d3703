# quorate file transfer helper (POSIX sh). The controller runs it as
#   sh -c 'set -- OP DEST SHA256 SIZE MODE
#   <this file>'
# OP check: is DEST already this content? Prints `same` (after applying MODE, if any)
#    or `differs`.
# OP write: stdin is the content. It goes to a temporary file next to DEST, is checked
#    against SIZE and SHA256 (a cut stream never replaces DEST), synced, given MODE
#    (octal; empty: the default for new files), and renamed over DEST, so readers see
#    the old file or the new one, never a partial one. Prints `written`.
# OP read: prints DEST's content on stdout, then `sha256 HEX` of the file as the last
#    line of stderr (the other arguments are unused): the controller compares it with
#    what arrived, so a file that changed while it was read is not taken for whole.
# Failures say why on stderr and exit non-zero.

op=$1 dest=$2 want=$3 size=$4 mode=$5

# The SHA-256 of file $1, in hex, with whichever tool the host has.
sha256() {
	if command -v sha256sum >/dev/null 2>&1; then
		set -- $(sha256sum <"$1")
	elif command -v shasum >/dev/null 2>&1; then
		set -- $(shasum -a 256 <"$1")
	elif command -v openssl >/dev/null 2>&1; then
		set -- $(openssl dgst -sha256 -r <"$1")
	else
		echo "no sha256sum, shasum or openssl on this host" >&2
		return 1
	fi
	echo "$1"
}

if [ -d "$dest" ]; then
	echo "$dest is a directory" >&2
	exit 1
fi

case $op in
check)
	if [ -f "$dest" ] && [ -r "$dest" ]; then
		have=$(sha256 "$dest") || exit 1
		if [ "$have" = "$want" ]; then
			if [ -n "$mode" ]; then chmod "$mode" "$dest" || exit 1; fi
			echo same
			exit 0
		fi
	fi
	echo differs
	;;
write)
	case $dest in
	*/*) dir=${dest%/*} ;;
	*) dir=. ;;
	esac
	[ -n "$dir" ] || dir=/
	if [ ! -d "$dir" ]; then
		echo "directory $dir does not exist" >&2
		exit 1
	fi
	tmp=$dir/.${dest##*/}.quorate-$$
	trap 'rm -f -- "$tmp"' EXIT
	trap 'exit 1' HUP INT TERM
	# With a mode, nobody may open the file before it has that mode.
	if [ -n "$mode" ]; then umask 077; fi
	cat >"$tmp" || exit 1
	got=$(wc -c <"$tmp" | tr -d ' ')
	if [ "$got" != "$size" ]; then
		echo "received $got of $size bytes; $dest left unchanged" >&2
		exit 1
	fi
	have=$(sha256 "$tmp") || exit 1
	if [ "$have" != "$want" ]; then
		echo "the received content does not have the expected SHA-256; $dest left unchanged" >&2
		exit 1
	fi
	if [ -n "$mode" ]; then chmod "$mode" "$tmp" || exit 1; fi
	# GNU and busybox sync take files; elsewhere sync everything.
	sync -- "$tmp" 2>/dev/null || sync
	mv -f -- "$tmp" "$dest" || exit 1
	trap - EXIT
	# The rename itself is durable once the directory is.
	sync -- "$dir" 2>/dev/null || sync
	echo written
	;;
read)
	if [ ! -f "$dest" ]; then
		echo "$dest: no such file" >&2
		exit 1
	fi
	cat -- "$dest" || exit 1
	have=$(sha256 "$dest") || exit 1
	echo "sha256 $have" >&2
	;;
*)
	echo "unknown operation $op" >&2
	exit 2
	;;
esac
