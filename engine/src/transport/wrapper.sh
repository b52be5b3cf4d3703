# quorate task journal (POSIX sh). Runs one task on this host and records it, so that a
# controller that died can later ask what happened. Tasks reach it through the host's
# journal server (server.rs), a long-lived `sh` that reads one request line
#   MODE RUN KEY SECS SUDO LEN NONCE
# at a time and runs this file in a subshell for it; probes and removals may also run it
# once, as
#   sh -c 'set -- MODE RUN KEY SECS SUDO LEN NONCE
#   <this file>'
# These values are not secret:
#   MODE   task (run it, or replay it if already run), probe (report), remove (delete
#          RUN), scrub (empty a finished task's recorded stdout and stderr, keep its exit)
#   RUN    the run id; KEY the task key (e.g. n42-a1), both [A-Za-z0-9._-]
#   SECS   the timeout in seconds, enforced here on the host (0: none)
#   SUDO   1: run the command under `sudo -n` (never a prompt, never a tty)
#   LEN    how many bytes of task input follow the request line (0 but for `task`)
#   NONCE  32 hex digits, fresh from the controller's CSPRNG for each request; it ends the
#          input and every part of the answer, and nothing the task prints can know it
#
# Request framing. For `task`, exactly LEN bytes follow the request line on stdin: the
# task's environment exports (secrets included), its `cd` and the command, then the line
# `# quorate-end NONCE`. Neither way of reading them lets content end the input early or
# reach the server as a request of its own: more than 4096 bytes are read by one
# `head -c LEN`, fewer by the `read` builtin up to the end line, which no content can
# hold because it did not exist when the content was made. The end line also proves that
# the input arrived whole (a cut stream is never run). The request line is read by the
# shell's `read`, which takes a pipe byte by byte, so it never eats into the input. The
# controller sends a request only after the previous answer arrived whole, so nothing
# follows the input in the stream while `head` reads it (GNU head reads no more than LEN
# anyway; busybox's reads ahead through stdio, which this order makes harmless).
#
# Journal files, in the run's 0700 directory ${QUORATE_HOME:-$HOME/.quorate}/runs/RUN/
# (one directory per run, not per task: a mkdir per task would cost a process), all
# created 0600 (the task's command itself runs with the umask it was given):
#   KEY.input.PID   the task input, only when it runs under timeout(1) or sudo (which
#                   need a file to read); deleted when the task ends
#   KEY.pid         "PID BOOT_ID START" of this wrapper, created once, before the command;
#                   once the command ended, a second line "CODE TIMED_OUT" (0 or 1) is
#                   appended: the task finished exactly when that line is there
#   KEY.stdout, KEY.stderr  the command's output (files, not the SSH channel: a daemon
#                   started with `nohup ... &` cannot hold the channel open)
#   KEY.timed_out   present when the timeout fired
#   KEY.exit        "CODE TIMED_OUT": where wrappers before the second pid line kept the
#                   exit record; still read, for journals they wrote
# Creating a file is the dearest thing a task does here (on ext4 under load, more than a
# fork), so a task creates three files (pid, stdout, stderr) and appends its exit record.
#
# The answer, on stdout, the same in both ways of running: one line
#   quorate-journal NONCE STATE [FIELD=VALUE ...]
# where STATE is `finished exit=CODE timed_out=0|1`, `running pid=PID`, `not-started`,
# `vanished` (started, but no exit code and the wrapper is gone: the host rebooted or the
# wrapper was killed), `removed`, `scrubbed`, or `error MESSAGE` (this script's own
# complaint). After `finished` come the recorded stdout, the line
# `quorate-journal-stdout-end NONCE`, the recorded stderr and the line
# `quorate-journal-stderr-end NONCE`. The controller takes the first occurrence of each
# end line with its request's nonce as the end: recorded output cannot hold a nonce that
# did not exist when it was written, and an end line cannot overlap itself (its only
# newline is its last byte). A request with an unusable NONCE: stderr, exit 70.
#
# Every task runs through here, so it starts as few processes as it can: shell builtins
# wherever they do the job (each process costs about half a millisecond).

q_mode=$1 q_run=$2 q_key=$3 q_secs=$4 q_sudo=$5 q_len=$6 q_nonce=$7
case $q_nonce in
'' | *[!0-9a-f]*)
	printf 'quorate-journal: invalid nonce\n' >&2
	exit 70
	;;
esac
case $q_len in '' | *[!0-9]*) q_len=0 ;; esac
q_end_out="quorate-journal-stdout-end $q_nonce"
q_end_err="quorate-journal-stderr-end $q_nonce"

# The task input is read first, so that every answer below (errors included) leaves the
# stream at the next request line. A large one, exactly LEN bytes, by one `head -c` (a
# process, but O(LEN)); a small one by the `read` builtin, line by line up to the end
# line, which no content can hold (it carries the nonce); building a string line by line
# is quadratic, harmless at this size. q_ended=1: the end line was there.
q_input= q_ended=0
if [ "$q_len" -gt 4096 ]; then
	q_input=$(head -c "$q_len")
	q_line=${q_input%"# quorate-end $q_nonce"}
	if [ "${#q_line}" -lt "${#q_input}" ]; then
		q_input=$q_line q_ended=1
	fi
elif [ "$q_len" -gt 0 ]; then
	while IFS= read -r q_line; do
		if [ "$q_line" = "# quorate-end $q_nonce" ]; then
			q_ended=1
			break
		fi
		q_input="$q_input$q_line
"
	done
fi
q_line=

q_fail() {
	printf 'quorate-journal %s error %s\n' "$q_nonce" "$*"
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
	echo "quorate-journal $q_nonce removed"
	exit 0
fi

q_valid "$q_key" || q_fail "invalid task key: $q_key"
q_rundir=$q_base/runs/$q_run
q_dir=$q_rundir/$q_key

# Journal files are 0600; the task's command gets its umask back (the server measures it
# once for all its tasks; a wrapper run once for a task measures it here).
[ "$q_mode" != task ] || [ -n "$q_umask" ] || q_umask=$(umask)
umask 077

# The journal server reads the boot id once for all its tasks (a reboot ends it).
if [ -z "$q_boot" ]; then
	q_boot=unknown
	[ -r /proc/sys/kernel/random/boot_id ] && read -r q_boot </proc/sys/kernel/random/boot_id
fi

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

# Succeeds when the task's exit record is there, and sets q_code and q_timed_out from it:
# the second line of `pid`, or `exit` in a journal an older wrapper wrote. A line being
# appended this very moment lacks its last field, or is complete (TIMED_OUT is one digit).
q_finished() {
	q_code= q_timed_out=
	{ read -r q_code && read -r q_code q_timed_out; } <"$q_dir.pid" 2>/dev/null
	[ -n "$q_timed_out" ] && return 0
	[ -f "$q_dir.exit" ] || return 1
	read -r q_code q_timed_out <"$q_dir.exit"
	[ -n "$q_timed_out" ]
}

# The finished answer: its line, stdout, stdout's end line, stderr, stderr's end line.
# Where /dev/fd exists one `cat` (replacing this shell) sends it all; the end lines come
# from here-documents, not files, so that concurrent answers share nothing.
q_replay() {
	q_finished || return 1
	echo "quorate-journal $q_nonce finished exit=$q_code timed_out=$q_timed_out"
	[ -f "$q_dir.stdout" ] || : >"$q_dir.stdout"
	[ -f "$q_dir.stderr" ] || : >"$q_dir.stderr"
	# Nothing recorded, as for most steps that only change things: the answer needs no
	# process (a `cat` would cost a third of such a task's time on the host).
	if [ ! -s "$q_dir.stdout" ] && [ ! -s "$q_dir.stderr" ]; then
		printf '%s\n%s\n' "$q_end_out" "$q_end_err"
		exit 0
	fi
	if [ -e /dev/fd/0 ]; then
		exec cat -- "$q_dir.stdout" - "$q_dir.stderr" /dev/fd/3 <<Q_OUT 3<<Q_ERR
$q_end_out
Q_OUT
$q_end_err
Q_ERR
	fi
	cat -- "$q_dir.stdout"
	echo "$q_end_out"
	cat -- "$q_dir.stderr"
	echo "$q_end_err"
	exit 0
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
	q_replay
	if [ ! -f "$q_dir.pid" ]; then
		echo "quorate-journal $q_nonce not-started"
	elif q_alive; then
		echo "quorate-journal $q_nonce running pid=$q_pid"
	elif q_replay; then
		# It ended between the first look and now.
		:
	elif [ ! -s "$q_dir.pid" ]; then
		# Claimed this very moment; its pid line follows.
		echo "quorate-journal $q_nonce running pid=0"
	else
		echo "quorate-journal $q_nonce vanished"
	fi
	exit 0
}

# Empties a finished task's recorded output (it may hold secrets) and keeps its exit
# record: a later probe replays the exit code with empty output.
q_scrub() {
	# A key that never started has nothing to empty.
	if [ ! -f "$q_dir.pid" ] && [ ! -f "$q_dir.exit" ]; then
		echo "quorate-journal $q_nonce scrubbed"
		exit 0
	fi
	q_finished || q_fail "task $q_key has not finished; nothing was scrubbed"
	{ : >"$q_dir.stdout" && : >"$q_dir.stderr"; } || q_fail "cannot empty the output of $q_key"
	echo "quorate-journal $q_nonce scrubbed"
	exit 0
}

case $q_mode in
probe) q_probe ;;
scrub) q_scrub ;;
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

if [ -f "$q_dir.pid" ] || [ -f "$q_dir.exit" ]; then
	# Delivered again: do not run twice; report what the first delivery did or does.
	q_probe
fi
if [ ! -d "$q_rundir" ]; then
	mkdir -m 700 -p -- "$q_rundir" 2>/dev/null || [ -d "$q_rundir" ] || q_fail "cannot create $q_rundir"
fi

# The input ends with its end line, or it is not run.
[ "$q_ended" = 1 ] || q_fail "the task input arrived incomplete; nothing was run"

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
	# timeout(1) and sudo run a program, which reads the input from a file (0600, in the
	# 0700 directory; deleted below). Its first line gives the command its umask back.
	trap 'rm -f -- "$q_dir.input.$q_me"' EXIT
	printf 'umask %s\n%s' "$q_umask" "$q_input" >"$q_dir.input.$q_me" ||
		q_fail "cannot write $q_dir.input.$q_me"
	q_input=
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
	# no positional parameters, the shell's own options and umask, and nothing of this
	# request's framing (the nonce stays unknown to the command).
	(
		trap - EXIT HUP INT TERM
		set --
		unset q_nonce q_end_out q_end_err q_req
		umask "$q_umask"
		eval "$q_input"
	) </dev/null >"$q_dir.stdout" 2>"$q_dir.stderr"
	q_code=$?
fi
q_input=
q_timed_out=0
[ -f "$q_dir.timed_out" ] && q_timed_out=1
printf '%s %s\n' "$q_code" "$q_timed_out" >>"$q_dir.pid" || q_fail "cannot record the exit code in $q_dir.pid"
q_replay
