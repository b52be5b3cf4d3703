# quorate task journal (POSIX sh). Runs one task on this host and records it, so that a
# controller that died can later ask what happened. Tasks reach it through the host's
# journal server (server.rs), a long-lived `sh` that runs this file in a subshell for each
# request line `MODE RUN KEY SECS SUDO` (q_server=1: stderr comes back in-band, see the
# answer below); probes and removals run it once, as
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
# Journal files, in the run's 0700 directory ${QUORATE_HOME:-$HOME/.quorate}/runs/RUN/
# (one directory per run, not per task: a mkdir per task would cost a process):
#   KEY.input.PID   the task input, only when it runs under timeout(1) or sudo (which
#                   need a file to read); deleted when the task ends
#   KEY.pid         "PID BOOT_ID" of this wrapper, created once, just before the command
#   KEY.stdout, KEY.stderr  the command's output (files, not the SSH channel: a daemon
#                   started with `nohup ... &` cannot hold the channel open)
#   KEY.timed_out   present when the timeout fired
#   KEY.exit        "CODE TIMED_OUT" (0 or 1), written after the command ended
#   KEY.end         the answer's trailer, so that stdout and trailer go out in one `cat`
#
# The answer: the line `quorate-journal finished exit=CODE timed_out=0|1`, the recorded
# stdout, and the trailer byte 0x1f + `quorate-journal-end` + newline on stdout; the
# recorded stderr on stderr; the exit status is CODE. Under the server, the recorded stderr
# follows the trailer on stdout, ended by 0x1f + `quorate-journal-stderr-end` + newline,
# and the script's own complaints are the line `quorate-journal error MESSAGE`. Or a single line on stdout:
# `quorate-journal running pid=PID`, `quorate-journal not-started`, `quorate-journal
# vanished` (started, but no exit code and the wrapper is gone: the host rebooted or the
# wrapper was killed), `quorate-journal removed`. Complaints of this script: stderr, exit 70.
#
# Every task runs through here, so it starts as few processes as it can: shell builtins
# wherever they do the job (each process costs about half a millisecond).

q_mode=$1 q_run=$2 q_key=$3 q_secs=$4 q_sudo=$5
# Set by the journal server (server.rs), which runs many tasks over one channel: answers
# then carry stderr in-band, and a task's input must be read up to its end line exactly.
q_server=${q_server:-0}
q_read=0

# Reads the rest of a task's input (up to its end line), unused.
q_drain() {
	[ "$q_read" = 1 ] && return 0
	q_read=1
	while IFS= read -r q_line; do
		case $q_line in "# quorate-end "*) return 0 ;; esac
	done
}

q_fail() {
	if [ "$q_server" = 1 ]; then
		[ "$q_mode" = task ] && q_drain
		printf 'quorate-journal error %s\n' "$*"
	else
		printf 'quorate-journal: %s\n' "$*" >&2
	fi
	exit 70
}

# Ids become path components: no slashes, no dot-files, no `..`.
q_valid() {
	case $1 in
	'' | .* | *[!A-Za-z0-9._-]*) return 1 ;;
	esac
}

q_valid "$q_run" || q_fail "invalid run id: $q_run"
case $q_secs in '' | *[!0-9]*) q_fail "invalid timeout: $q_secs" ;; esac

q_base=${QUORATE_HOME:-$HOME/.quorate}

if [ "$q_mode" = remove ]; then
	rm -rf -- "$q_base/runs/$q_run" || q_fail "cannot remove $q_base/runs/$q_run"
	echo 'quorate-journal removed'
	exit 0
fi

q_valid "$q_key" || q_fail "invalid task key: $q_key"
q_rundir=$q_base/runs/$q_run
q_dir=$q_rundir/$q_key

q_boot=unknown
[ -r /proc/sys/kernel/random/boot_id ] && read -r q_boot </proc/sys/kernel/random/boot_id

# The start time (field 22 of /proc/PID/stat) tells a live process from a recycled pid.
# Sets q_st (empty where there is no /proc).
q_started() {
	q_st=
	read -r q_stat <"/proc/$1/stat" 2>/dev/null || return 0
	set -- ${q_stat##*) }
	q_st=${20}
}

# Succeeds when the wrapper recorded in `pid` still runs: same boot, process alive and,
# where /proc exists, still a wrapper of this task (not a recycled pid, not a zombie).
q_alive() {
	read -r q_pid q_pboot q_pstart <"$q_dir.pid" 2>/dev/null || return 1
	[ "$q_pboot" = "$q_boot" ] || return 1
	kill -0 "$q_pid" 2>/dev/null || return 1
	q_started "$q_pid"
	[ "$q_st" = "$q_pstart" ] || return 1
}

q_replay() {
	read -r q_code q_timed_out <"$q_dir.exit" || return 1
	[ -n "$q_timed_out" ] || return 1
	echo "quorate-journal finished exit=$q_code timed_out=$q_timed_out"
	if [ "$q_server" = 1 ]; then
		[ -f "$q_dir.end" ] || printf '\037quorate-journal-end\n' >"$q_dir.end"
		[ -f "$q_dir.eend" ] || printf '\037quorate-journal-stderr-end\n' >"$q_dir.eend"
		exec cat -- "$q_dir.stdout" "$q_dir.end" "$q_dir.stderr" "$q_dir.eend"
	fi
	if [ -s "$q_dir.stderr" ]; then cat -- "$q_dir.stderr" >&2; fi
	if [ -s "$q_dir.stdout" ] && [ "$q_code" = 0 ]; then
		# The usual case, without a new process: cat replaces this shell and exits 0.
		[ -f "$q_dir.end" ] || printf '\037quorate-journal-end\n' >"$q_dir.end"
		exec cat -- "$q_dir.stdout" "$q_dir.end"
	fi
	if [ -s "$q_dir.stdout" ]; then cat -- "$q_dir.stdout"; fi
	printf '\037quorate-journal-end\n'
	exit "$q_code"
}

# Deletes the input (secrets) a wrapper left behind when it was killed too hard to clean
# up after itself: any input.PID whose PID no longer runs.
q_sweep() {
	for q_f in "$q_dir".input.*; do
		[ -e "$q_f" ] || continue
		kill -0 "${q_f##*.}" 2>/dev/null || rm -f -- "$q_f"
	done
}

q_probe() {
	q_sweep
	[ -f "$q_dir.exit" ] && q_replay
	if [ ! -f "$q_dir.pid" ]; then
		echo 'quorate-journal not-started'
	elif q_alive; then
		echo "quorate-journal running pid=$q_pid"
	elif [ -f "$q_dir.exit" ]; then
		# It ended between the first look and now (or its exit line is being written).
		q_replay || echo "quorate-journal running pid=0"
	elif [ ! -s "$q_dir.pid" ]; then
		# Claimed this very moment; its pid line follows.
		echo "quorate-journal running pid=0"
	else
		echo 'quorate-journal vanished'
	fi
	exit 0
}

case $q_mode in
probe) q_probe ;;
task) ;;
*) q_fail "unknown mode: $q_mode" ;;
esac

# Runs "$@" for at most SECS seconds, then kills it and its process group: TERM, and KILL
# 5 s later. Creates the file MARKER when the limit fired. Usage: sh -c "$q_limit" limit
# SECS MARKER COMMAND... It is a separate shell so that, under sudo, the killing happens
# as the same user as the command. (No single quote may appear in it.)
q_limit='
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

if [ -f "$q_dir.exit" ] || [ -f "$q_dir.pid" ]; then
	# Delivered again: do not run twice; report what the first delivery did or does.
	q_drain
	q_probe
fi
if [ ! -d "$q_rundir" ]; then
	mkdir -m 700 -p -- "$q_rundir" 2>/dev/null || [ -d "$q_rundir" ] || q_fail "cannot create $q_rundir"
fi

# The input, read with builtins; it ends with the marker line or it is not run.
q_input= q_last=
q_read=1
while IFS= read -r q_line; do
	q_input="$q_input$q_line
"
	q_last=$q_line
	[ "$q_line" = "# quorate-end $q_key" ] && break
done
[ "$q_last" = "# quorate-end $q_key" ] || q_fail "the task input arrived incomplete; nothing was run"

# Claim the task: noclobber creation fails if `pid` exists, so of two deliveries racing
# here exactly one runs the command.
q_me=$$
[ -r /proc/self/stat ] && read -r q_me q_rest </proc/self/stat
set -C
q_started "$q_me"
{ echo "$q_me $q_boot $q_st" >"$q_dir.pid"; } 2>/dev/null || {
	set +C
	q_probe
}
set +C

trap 'exit 70' HUP INT TERM
if [ "$q_secs" -gt 0 ] || [ "$q_sudo" = 1 ]; then
	# timeout(1) and sudo run a program, which reads the input from a file (in the 0700
	# directory; deleted below).
	trap 'rm -f -- "$q_dir.input.$q_me"' EXIT
	printf '%s' "$q_input" >"$q_dir.input.$q_me" || q_fail "cannot write $q_dir.input.$q_me"
	q_as=
	[ "$q_sudo" = 1 ] && q_as='sudo -n'
	if [ "$q_secs" -gt 0 ]; then
		$q_as sh -c "$q_limit" limit "$q_secs" "$q_dir.timed_out" sh "$q_dir.input.$q_me" \
			</dev/null >"$q_dir.stdout" 2>"$q_dir.stderr"
	else
		$q_as sh "$q_dir.input.$q_me" </dev/null >"$q_dir.stdout" 2>"$q_dir.stderr"
	fi
	q_code=$?
	rm -f -- "$q_dir.input.$q_me"
else
	# A subshell (a fork, no new program) runs the input as `sh FILE` would: no traps,
	# no positional parameters, the shell's own options.
	(
		trap - EXIT HUP INT TERM
		set --
		eval "$q_input"
	) </dev/null >"$q_dir.stdout" 2>"$q_dir.stderr"
	q_code=$?
fi
q_input=
q_timed_out=0
[ -f "$q_dir.timed_out" ] && q_timed_out=1
printf '%s %s\n' "$q_code" "$q_timed_out" >"$q_dir.exit" || q_fail "cannot record the exit code in $q_dir.exit"
q_replay
