#!/bin/sh
# node.sh -- `cairn node` end to end, with real processes on 127.0.0.1
# (ctest: cairn.node_cli, labels integration and net).
#
#   sh node.sh CAIRN CTL_SEND
#
# CAIRN is the built `cairn` program, CTL_SEND tests/integration's
# cairn-test-ctl-send. Two replicas of one mesh run as nodes on ports the
# system picks; the data commands on each directory go through its node's
# control socket, and what one writes shows up on the other within a
# bounded wait. Then status and peers, malformed control requests, a
# second node refused, SIGTERM, a stale socket after kill -9, and an
# allow-list. Each check prints "ok - ..." or "not ok - ..."; the exit
# status is 1 if any failed. Every wait is bounded (WAIT tenths of a s).
set -u

# Absolute: one check runs cairn from another directory.
CAIRN=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")
CTL=$2
WAIT=100
T=$(mktemp -d "${TMPDIR:-/tmp}/cairn-node.XXXXXX") || exit 1
PIDS=
cleanup() {
	for p in $PIDS; do
		kill -KILL "$p" 2>/dev/null
	done
	wait 2>/dev/null
	rm -rf "$T"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

FAILED=0
CHECKS=0
A="$T/a"
B="$T/b"

ok() { CHECKS=$((CHECKS + 1)); echo "ok - $1"; }
not_ok() {
	CHECKS=$((CHECKS + 1))
	FAILED=$((FAILED + 1))
	echo "not ok - $1"
	shift
	for line in "$@"; do echo "#   $line"; done
}

# run ARGS...: run cairn, keep stdout in $OUT, stderr in $ERR, status in $RC.
run() {
	"$CAIRN" "$@" >"$T/out" 2>"$T/err"
	RC=$?
	OUT=$(cat "$T/out")
	ERR=$(cat "$T/err")
}

# eventually WHAT WANT ARGS...: run cairn until it exits 0 with stdout
# WANT, at most WAIT times, a tenth of a second apart.
eventually() {
	what=$1
	want=$2
	shift 2
	i=0
	while [ $i -lt $WAIT ]; do
		run "$@"
		if [ "$RC" -eq 0 ] && [ "$OUT" = "$want" ]; then
			ok "$what"
			return 0
		fi
		i=$((i + 1))
		sleep 0.1
	done
	not_ok "$what" "cairn $*" "want: $want" "got:  $OUT" "exit $RC" \
		"stderr: $ERR"
	return 1
}

# until_has WHAT PATTERN ARGS...: run cairn until it exits 0 with PATTERN
# (a fixed string) in its stdout; until_lacks: until it exits 0 without.
until_has() {
	poll_for has "$@"
}
until_lacks() {
	poll_for lacks "$@"
}
poll_for() {
	how=$1
	what=$2
	pattern=$3
	shift 3
	i=0
	while [ $i -lt $WAIT ]; do
		run "$@"
		if [ "$RC" -eq 0 ]; then
			if printf '%s\n' "$OUT" | grep -qF -- "$pattern"; then
				[ "$how" = has ] && { ok "$what"; return 0; }
			else
				[ "$how" = lacks ] && { ok "$what"; return 0; }
			fi
		fi
		i=$((i + 1))
		sleep 0.1
	done
	not_ok "$what" "cairn $*" "want stdout that $how '$pattern'" \
		"got:  $OUT" "exit $RC" "stderr: $ERR"
	return 1
}

# expect WHAT CODE PATTERN ARGS...: exit status CODE and PATTERN (a fixed
# string) in stdout or stderr.
expect() {
	what=$1
	code=$2
	pattern=$3
	shift 3
	run "$@"
	if [ "$RC" -eq "$code" ] &&
		printf '%s\n%s\n' "$OUT" "$ERR" | grep -qF -- "$pattern"; then
		ok "$what"
	else
		not_ok "$what" "cairn $*" "want exit $code and '$pattern'" \
			"exit $RC" "stdout: $OUT" "stderr: $ERR"
	fi
}

# start_node NAME DIR ARGS...: run `cairn --dir DIR node ARGS...` in the
# background, its log in $T/NAME.log, its pid in $NAME_PID; wait until it
# serves its control socket (or fails).
start_node() {
	name=$1
	dir=$2
	shift 2
	# Emptied here: the job's own redirection happens when it gets to
	# it, and the log of the node's previous run must not answer.
	: >"$T/$name.log"
	"$CAIRN" --dir "$dir" node "$@" 2>>"$T/$name.log" &
	pid=$!
	PIDS="$PIDS $pid"
	eval "${name}_PID=$pid"
	i=0
	while [ $i -lt $WAIT ]; do
		grep -q "serving the other commands" "$T/$name.log" && return 0
		kill -0 "$pid" 2>/dev/null || break
		i=$((i + 1))
		sleep 0.1
	done
	not_ok "node $name starts" "log:" "$(cat "$T/$name.log")"
	return 1
}

# port_of NAME: the port node NAME listens on (from its log).
port_of() {
	sed -n 's/.*listening on 127\.0\.0\.1:\([0-9]*\).*/\1/p' "$T/$1.log" |
		head -n 1
}

# stop_node NAME: SIGTERM, then wait (bounded) for a clean exit.
stop_node() {
	name=$1
	eval "pid=\$${name}_PID"
	kill -TERM "$pid"
	i=0
	while kill -0 "$pid" 2>/dev/null && [ $i -lt $WAIT ]; do
		i=$((i + 1))
		sleep 0.1
	done
	if kill -0 "$pid" 2>/dev/null; then
		not_ok "node $name stops on SIGTERM" "still running after" \
			"$((WAIT / 10)) s"
		return 1
	fi
	wait "$pid"
	code=$?
	if [ "$code" -eq 0 ] && grep -q "stopped" "$T/$name.log"; then
		ok "node $name stops on SIGTERM, exit 0"
	else
		not_ok "node $name stops on SIGTERM, exit 0" "exit $code" \
			"log:" "$(cat "$T/$name.log")"
	fi
}

# ---- help ---------------------------------------------------------------------

for c in node status peers; do
	run "$c" --help
	if [ "$RC" -eq 0 ] && printf '%s\n' "$OUT" |
		grep -q "^usage: cairn \[--dir DIR\] $c"; then
		ok "$c --help"
	else
		not_ok "$c --help" "exit $RC" "$OUT" "$ERR"
	fi
	run --help
	printf '%s\n' "$OUT" | grep -q "^  $c " && ok "--help lists $c" ||
		not_ok "--help lists $c" "$OUT"
done

# ---- two replicas of one mesh ---------------------------------------------

run --dir "$A" init
ID_A=$OUT
run --dir "$A" mesh-key
KEY=$OUT
run --dir "$B" init --mesh-key "$KEY"
ID_B=$OUT
run --dir "$A" put t1 early "written before any node"

start_node a "$A" --listen 127.0.0.1:0 || exit 1
PORT_A=$(port_of a)
if [ -n "$PORT_A" ] && [ "$PORT_A" -gt 0 ]; then
	ok "node a listens on a port the system chose ($PORT_A)"
else
	not_ok "node a reports its port" "log:" "$(cat "$T/a.log")"
	exit 1
fi
start_node b "$B" --listen 127.0.0.1:0 --peer "127.0.0.1:$PORT_A" || exit 1
PORT_B=$(port_of b)

mode=$(stat -c %a "$A/control.sock" 2>/dev/null)
if [ "$mode" = 600 ]; then
	ok "control.sock has mode 0600"
else
	not_ok "control.sock has mode 0600" "mode: $mode"
fi

# ---- edits go through the nodes and reach the other side -------------------

expect "put while the node runs" 0 "" --dir "$A" put t1 subject "printer jams"
eventually "the put shows up on b" '"printer jams"' --dir "$B" get t1 subject
eventually "what a held before shows up on b" '"written before any node"' \
	--dir "$B" get t1 early
expect "add on b" 0 "" --dir "$B" add t1 tags urgent
eventually "the add shows up on a" '["urgent"]' --dir "$A" members t1 tags
expect "del on a" 0 "" --dir "$A" del t1 early
until_lacks "the del shows up on b" '"early"' --dir "$B" show t1
expect "errors come back with their exit status" 2 "no such field" \
	--dir "$A" get t1 nope
expect "id through the node" 0 "$ID_A" --dir "$A" id
expect "declare through the node" 0 "" --dir "$A" declare cfg/ fww

# import reads its file here, the node gets the bytes
printf '{"format": "cairn-export", "version": 1, "documents": {"imported": {"v": 42}}}\n' \
	>"$T/more.json"
(cd "$T" && "$CAIRN" --dir "$B" import more.json >"$T/out" 2>"$T/err")
if [ $? -eq 0 ] && grep -q "imported 1 writes" "$T/out"; then
	ok "import of a relative path through the node"
else
	not_ok "import through the node" "$(cat "$T/out" "$T/err")"
fi
eventually "the import shows up on a" "42" --dir "$A" get imported v
expect "import of a missing file, read by the client" 2 "nope.json" \
	--dir "$B" import "$T/nope.json"

# both replicas end up equal
run --dir "$A" export
EA=$OUT
eventually "b exports what a exports" "$EA" --dir "$B" export

# ---- status and peers ------------------------------------------------------

until_has "b is up on a" "	in	up	" --dir "$A" peers
run --dir "$A" peers
if [ "$RC" -eq 0 ] && printf '%s\n' "$OUT" | grep -q "^$ID_B	127\.0\.0\.1:[0-9]*	in	up	"; then
	ok "cairn peers on a lists b, incoming and up"
else
	not_ok "cairn peers on a lists b" "exit $RC" "$OUT" "$ERR"
fi
run --dir "$B" peers
if [ "$RC" -eq 0 ] && printf '%s\n' "$OUT" | grep -q "^$ID_A	127\.0\.0\.1:$PORT_A	out	up	"; then
	ok "cairn peers on b lists a, dialled and up"
else
	not_ok "cairn peers on b lists a" "exit $RC" "$OUT" "$ERR"
fi
expect "cairn status on a" 0 "peers      1, 1 up" --dir "$A" status
expect "cairn status names the device" 0 "device     $ID_A" --dir "$A" status
expect "cairn status --json" 0 "\"running\": true" --dir "$A" status --json
expect "cairn status --json lists the port" 0 "127.0.0.1:$PORT_A" \
	--dir "$A" status --json
expect "cairn peers --json" 0 "\"device\": \"$ID_A\"" --dir "$B" peers --json

# ---- the control socket refuses what it cannot read --------------------------

for c in garbage version argc arglen nul input trailing huge unknown; do
	got=$("$CTL" "$A/control.sock" "$c" 2>&1)
	case "$got" in
	*"x 1") ok "a malformed request ($c) gets an error" ;;
	*) not_ok "a malformed request ($c) gets an error" "$got" ;;
	esac
done
got=$("$CTL" "$A/control.sock" cut 2>&1)
[ "$got" = eof ] && ok "half a request gets no answer" ||
	not_ok "half a request gets no answer" "$got"
got=$("$CTL" "$A/control.sock" ok 2>&1)
case "$got" in
*t1*"x 0") ok "the node still serves after malformed requests" ;;
*) not_ok "the node still serves after malformed requests" "$got" ;;
esac

# ---- one node per replica ----------------------------------------------------

expect "a second node on the same replica is refused" 3 "in use by process" \
	--dir "$A" node --listen 127.0.0.1:0
expect "repair while the node runs is refused" 3 "in use by process" \
	--dir "$A" repair
expect "a bad --allow is a usage error" 1 "not a device id" \
	--dir "$T/x" node --allow nope

# ---- stopping -------------------------------------------------------------------

stop_node a
[ ! -e "$A/control.sock" ] && ok "the control socket is gone after SIGTERM" ||
	not_ok "the control socket is gone after SIGTERM"
expect "status without a node: exit 4" 4 "no node is running" --dir "$A" status
expect "status --json without a node" 4 '{"running": false}' \
	--dir "$A" status --json
expect "peers without a node: exit 4" 4 "no node is running" --dir "$A" peers
expect "get without a node opens the replica" 0 '"printer jams"' \
	--dir "$A" get t1 subject
expect "a bad --listen is a usage error" 1 "--listen nowhere" \
	--dir "$A" node --listen nowhere
expect "a port in use is refused" 3 "cannot listen on 127.0.0.1:$PORT_B" \
	--dir "$A" node --listen "127.0.0.1:$PORT_B"
[ ! -e "$A/control.sock" ] && ok "a node that fails to start leaves no socket" ||
	not_ok "a node that fails to start leaves no socket"
until_has "b's peer a is down" "	out	down	" --dir "$B" peers

# a node killed hard leaves its socket; the commands then open the replica,
# and the next node removes it
kill -KILL "$b_PID"
wait "$b_PID" 2>/dev/null
[ -S "$B/control.sock" ] && ok "kill -9 leaves a stale control socket" ||
	not_ok "kill -9 leaves a stale control socket"
expect "get with a stale socket opens the replica" 0 '"printer jams"' \
	--dir "$B" get t1 subject
expect "put with a stale socket writes the replica" 0 "" \
	--dir "$B" put t1 offline "while no node ran"

# b comes back and dials a, which comes back later: redial with backoff
start_node b "$B" --peer "127.0.0.1:$PORT_A" || exit 1
grep -q "removed the control socket" "$T/b.log" &&
	ok "the next node removes the stale socket" ||
	not_ok "the next node removes the stale socket" "$(cat "$T/b.log")"
expect "status answers again" 0 "peers      1, 0 up" --dir "$B" status
start_node a "$A" --listen "127.0.0.1:$PORT_A" || exit 1
eventually "b redials a and what b wrote alone reaches a" \
	'"while no node ran"' --dir "$A" get t1 offline

# ---- allow-lists -----------------------------------------------------------------

C="$T/c"
run --dir "$C" init --mesh-key "$KEY"
ID_C=$OUT
stop_node a
start_node a "$A" --listen "127.0.0.1:$PORT_A" --allow "$ID_B" || exit 1
start_node c "$C" --peer "127.0.0.1:$PORT_A" || exit 1
i=0
while [ $i -lt $WAIT ]; do
	grep -q "allow-list" "$T/c.log" && break
	i=$((i + 1))
	sleep 0.1
done
grep -q "allow-list" "$T/c.log" &&
	ok "a device not on a's allow-list is refused, and told why" ||
	not_ok "a refuses c" "c:" "$(cat "$T/c.log")" "a:" "$(cat "$T/a.log")"
run --dir "$C" get t1 subject
[ "$RC" -ne 0 ] && ok "the refused device got no data" ||
	not_ok "the refused device got no data" "$OUT"
eventually "the allowed device still syncs" '"while no node ran"' \
	--dir "$A" get t1 offline
stop_node c
stop_node b
stop_node a

echo "# $CHECKS checks, $FAILED failed"
[ "$FAILED" -eq 0 ]
