//! The shell scripts written into node and chain directories (start, stop, status).

/// `start.sh`: starts `./demo-node run` with nohup, writes `node.pid`, and returns as soon as
/// the node listens (`node.ready`) or has refused to start (`node.failed`, non-zero exit).
pub fn start(name: &str) -> String {
    format!(
        r#"#!/bin/sh
# Starts {name} in the background and returns once it listens, or fails with its message.
cd "$(dirname "$0")" || exit 1
name={name}
# A pid is running if it exists and is not a zombie (this shell does not reap its child).
running() {{
    kill -0 "$1" 2>/dev/null || return 1
    state=$(sed 's/^.*) //' "/proc/$1/stat" 2>/dev/null | cut -c1)
    [ "$state" != Z ]
}}
if [ -f node.pid ]; then
    pid=$(cat node.pid)
    if [ -n "$pid" ] && running "$pid"; then
        echo "$name is already running (pid $pid)" >&2
        exit 1
    fi
    rm -f node.pid
fi
rm -f node.ready node.failed
nohup ./demo-node run --dir . >>nohup.out 2>&1 </dev/null &
pid=$!
echo "$pid" >node.pid
i=0
while [ "$i" -lt 150 ]; do
    if [ -f node.ready ]; then
        echo "$name started (pid $pid)"
        exit 0
    fi
    if [ -f node.failed ] || ! running "$pid"; then
        sleep 0.1
        rm -f node.pid
        echo "$name failed to start:" >&2
        if [ -f node.failed ]; then cat node.failed >&2; else tail -n 5 nohup.out >&2; fi
        exit 1
    fi
    sleep 0.1
    i=$((i + 1))
done
echo "$name did not report ready within 15 s (pid $pid); see nohup.out and log/node.log" >&2
exit 1
"#
    )
}

/// `stop.sh`: stops the pid in `node.pid` and waits until it is gone; idempotent.
pub fn stop(name: &str) -> String {
    format!(
        r#"#!/bin/sh
# Stops {name} by the pid in node.pid and waits until it is gone; safe to run again.
cd "$(dirname "$0")" || exit 1
name={name}
running() {{
    kill -0 "$1" 2>/dev/null || return 1
    state=$(sed 's/^.*) //' "/proc/$1/stat" 2>/dev/null | cut -c1)
    [ "$state" != Z ]
}}
if [ ! -f node.pid ]; then
    echo "$name is not running"
    exit 0
fi
pid=$(cat node.pid)
if [ -z "$pid" ] || ! running "$pid"; then
    rm -f node.pid node.ready
    echo "$name is not running"
    exit 0
fi
# A stale node.pid may name a pid reused by another program: only stop a demo-node.
if [ -r "/proc/$pid/cmdline" ] && ! tr '\0' ' ' <"/proc/$pid/cmdline" | grep -q demo-node; then
    echo "pid $pid is not $name (stale node.pid); removing node.pid" >&2
    rm -f node.pid node.ready
    exit 0
fi
kill "$pid" 2>/dev/null
i=0
while running "$pid"; do
    if [ "$i" -eq 100 ]; then
        echo "$name (pid $pid) still running after 10 s; sending SIGKILL" >&2
        kill -9 "$pid" 2>/dev/null
    fi
    if [ "$i" -ge 150 ]; then
        echo "$name (pid $pid) did not stop" >&2
        exit 1
    fi
    sleep 0.1
    i=$((i + 1))
done
rm -f node.pid node.ready
echo "$name stopped"
"#
    )
}

/// `status.sh`: the node's status command, with any flags passed through.
pub fn status() -> String {
    r#"#!/bin/sh
# Prints this node's status (JSON); flags: --healthy --synced --version --height --sealers --live-sealers --role
cd "$(dirname "$0")" || exit 1
exec ./demo-node status --dir . "$@"
"#
    .to_string()
}

/// `start_all.sh` / `stop_all.sh` in the chain directory: every `node*/` in turn.
pub fn all(action: &str) -> String {
    format!(
        r#"#!/bin/sh
# Runs {action}.sh of every node directory here; exits non-zero if any failed.
cd "$(dirname "$0")" || exit 1
code=0
for node in node*/; do
    [ -x "${{node}}{action}.sh" ] || continue
    "${{node}}{action}.sh" || code=1
done
exit $code
"#
    )
}
