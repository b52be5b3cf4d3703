# quorate task journal (POSIX sh). Runs one task on this host and records it, so that a
# controller that died can later ask what happened. The controller runs it as
#   sh -c 'set -- MODE RUN KEY SECS SUDO
#   <this file>'
# The command line carries only these non-secret values:
#   MODE  task (run it, or replay it if already run), probe (report), remove (delete RUN)
#   RUN   the run id; KEY the task key (e.g. n42-a1), both [A-Za-z0-9._-]
#   SECS  the timeout in seconds, enforced here on the host (0: none)
#   SUDO  1: run the command under `sudo -n` (never a prompt, never a tty)
# For `task`, stdin brings the task's environment exports (secrets included), its `cd` and
# the command, ending with the line `# quorate-end KEY` (so a cut stream is never run).
#
# Journal entry ${QUORATE_HOME:-$HOME/.quorate}/runs/RUN/KEY/ (directories 0700):
#   input.PID       stdin, 0600, deleted when the task ends
#   pid             "PID BOOT_ID" of this wrapper, created once, just before the command
#   stdout, stderr  the command's output (files, not the SSH channel: a daemon started
#                   with `nohup ... &` cannot hold the channel open)
#   timed_out       present when the timeout fired
#   exit            "CODE TIMED_OUT" (0 or 1), written atomically after the command ended
#
# The answer, on stdout (stderr carries only this script's own complaints, exit 70):
#   quorate-journal finished exit=CODE timed_out=0|1 stdout=BYTES stderr=BYTES
#   followed by the recorded stdout then stderr bytes; the exit status is CODE.
# or a single line: `quorate-journal running pid=PID`, `quorate-journal not-started`,
# `quorate-journal vanished` (started, but no exit code and the wrapper is gone: the host
# rebooted or the wrapper was killed), `quorate-journal removed`.

mode=$1 run=$2 key=$3 secs=$4 sudo=$5

fail() {
	printf 'quorate-journal: %s\n' "$*" >&2
	exit 70
}

# Ids become path components: no slashes, no dot-files, no `..`.
valid() {
	case $1 in
	'' | .* | *[!A-Za-z0-9._-]*) return 1 ;;
	esac
}

valid "$run" || fail "invalid run id: $run"
case $secs in '' | *[!0-9]*) fail "invalid timeout: $secs" ;; esac

base=${QUORATE_HOME:-$HOME/.quorate}
# The journal is private; the command gets the umask it would have had without us.
command_umask=$(umask)
umask 077

if [ "$mode" = remove ]; then
	rm -rf -- "$base/runs/$run" || fail "cannot remove $base/runs/$run"
	echo 'quorate-journal removed'
	exit 0
fi

valid "$key" || fail "invalid task key: $key"
dir=$base/runs/$run/$key

boot_id() {
	cat /proc/sys/kernel/random/boot_id 2>/dev/null || echo unknown
}

# Succeeds when the wrapper recorded in `pid` still runs: same boot, process alive and,
# where /proc exists, still a wrapper of this task (not a recycled pid, not a zombie).
alive() {
	read -r pid boot <"$dir/pid" 2>/dev/null || return 1
	[ "$boot" = "$(boot_id)" ] || return 1
	kill -0 "$pid" 2>/dev/null || return 1
	if [ -d /proc/self ]; then
		tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -qF -- "task $run $key " || return 1
	fi
}

size() {
	wc -c <"$1" | tr -d ' '
}

replay() {
	read -r code timed_out <"$dir/exit" || fail "unreadable $dir/exit"
	printf 'quorate-journal finished exit=%s timed_out=%s stdout=%s stderr=%s\n' \
		"$code" "$timed_out" "$(size "$dir/stdout")" "$(size "$dir/stderr")"
	cat -- "$dir/stdout" "$dir/stderr"
	exit "$code"
}

# Deletes the input (secrets) a wrapper left behind when it was killed too hard to clean
# up after itself: any input.PID whose PID no longer runs.
sweep() {
	for f in "$dir"/input.*; do
		[ -e "$f" ] || continue
		kill -0 "${f##*.}" 2>/dev/null || rm -f -- "$f"
	done
}

probe() {
	sweep
	[ -f "$dir/exit" ] && replay
	if [ ! -f "$dir/pid" ]; then
		echo 'quorate-journal not-started'
	elif alive; then
		echo "quorate-journal running pid=$pid"
	elif [ -f "$dir/exit" ]; then
		# It ended between the first look and now.
		replay
	else
		echo 'quorate-journal vanished'
	fi
	exit 0
}

case $mode in
probe) probe ;;
task) ;;
*) fail "unknown mode: $mode" ;;
esac

# Runs "$@" for at most SECS seconds, then kills it and its process group: TERM, and KILL
# 5 s later. Creates the file MARKER when the limit fired. Usage: sh -c "$limit" limit
# SECS MARKER COMMAND... It is a separate shell so that, under sudo, the killing happens
# as the same user as the command. (No single quote may appear in it.)
limit='
secs=$1 marker=$2
shift 2
if timeout -k 5 1 true 2>/dev/null; then
	start=$(date +%s)
	# GNU timeout puts the command in its own process group and signals the whole group.
	timeout -k 5 "$secs" "$@"
	code=$?
	# It exits 124 (137 after KILL) when the limit fired; a command may exit 124 on its
	# own, so the elapsed time decides.
	if { [ $code -eq 124 ] || [ $code -eq 137 ]; } && [ $(($(date +%s) - start)) -ge "$secs" ]; then
		: >"$marker"
	fi
	exit $code
fi
# No usable timeout(1): a watchdog does the same, for the process group setsid(1) gives
# the command, or for the command alone where there is no setsid.
# The command writes to the stderr of the caller (fd 3); job reports of this shell (such as
# "Killed") go nowhere.
exec 3>&2 2>/dev/null
if command -v setsid >/dev/null 2>&1; then
	setsid "$@" 2>&3 3>&- &
	target=-$!
else
	"$@" 2>&3 3>&- &
	target=$!
fi
pid=$!
(
	sleep "$secs"
	: >"$marker"
	kill -TERM "$target"
	sleep 5
	kill -KILL "$target"
) </dev/null >/dev/null 2>&1 &
dog=$!
wait $pid
code=$?
kill $dog 2>/dev/null
exit $code
'

mkdir -p -- "$dir" || fail "cannot create $dir"
if [ -f "$dir/exit" ] || [ -f "$dir/pid" ]; then
	# Delivered again: do not run twice; report what the first delivery did or does.
	cat >/dev/null
	probe
fi

sweep
input=$dir/input.$$
trap 'rm -f -- "$input" "$dir/pid.$$"' EXIT
trap 'exit 70' HUP INT TERM
cat >"$input" || fail "cannot write $input"
[ "$(tail -n 1 "$input")" = "# quorate-end $key" ] ||
	fail "the task input arrived incomplete; nothing was run"

# Claim the task: link(2) fails if `pid` exists, so of two deliveries racing here exactly
# one runs the command, and `pid` never exists half-written.
echo "$$ $(boot_id)" >"$dir/pid.$$" || fail "cannot write $dir/pid.$$"
if ! ln -- "$dir/pid.$$" "$dir/pid" 2>/dev/null; then
	rm -f -- "$input" "$dir/pid.$$"
	probe
fi
rm -f -- "$dir/pid.$$"

as_root=
[ "$sudo" = 1 ] && as_root='sudo -n'
: >"$dir/stdout" && : >"$dir/stderr" || fail "cannot write to $dir"
umask "$command_umask"
if [ "$secs" -gt 0 ]; then
	$as_root sh -c "$limit" limit "$secs" "$dir/timed_out" sh "$input" \
		</dev/null >"$dir/stdout" 2>"$dir/stderr"
else
	$as_root sh "$input" </dev/null >"$dir/stdout" 2>"$dir/stderr"
fi
code=$?
rm -f -- "$input"
timed_out=0
[ -f "$dir/timed_out" ] && timed_out=1
printf '%s %s\n' "$code" "$timed_out" >"$dir/exit.tmp" &&
	mv -f -- "$dir/exit.tmp" "$dir/exit" || fail "cannot record the exit code in $dir"
replay
