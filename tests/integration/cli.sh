#!/bin/sh
# cli.sh -- the cairn command end to end (ctest: cairn.cli, labels
# integration and store).
#
#   sh cli.sh CAIRN HOLD_STORE
#
# CAIRN is the built `cairn` program, HOLD_STORE tests/integration's
# cairn-test-hold-store. Everything happens in a fresh temporary directory,
# removed at the end. Each check prints "ok - ..." or "not ok - ..." with
# what was expected and what came; the exit status is 1 if any failed.
set -u

CAIRN=$1
HOLD=$2
T=$(mktemp -d "${TMPDIR:-/tmp}/cairn-cli.XXXXXX") || exit 1
HOLD_PID=
cleanup() {
	exec 3>&- 2>/dev/null
	if [ -n "$HOLD_PID" ]; then
		kill "$HOLD_PID" 2>/dev/null
		wait "$HOLD_PID" 2>/dev/null
	fi
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

# expect_ok WHAT ARGS...: exit status 0.
expect_ok() {
	what=$1
	shift
	run "$@"
	if [ "$RC" -eq 0 ]; then
		ok "$what"
	else
		not_ok "$what" "cairn $*" "exit $RC" "stderr: $ERR"
	fi
}

# expect_out WHAT WANT ARGS...: exit status 0 and stdout exactly WANT.
expect_out() {
	what=$1
	want=$2
	shift 2
	run "$@"
	if [ "$RC" -eq 0 ] && [ "$OUT" = "$want" ]; then
		ok "$what"
	else
		not_ok "$what" "cairn $*" "exit $RC" "want: $want" \
			"got:  $OUT" "stderr: $ERR"
	fi
}

# expect_fail WHAT CODE PATTERN ARGS...: exit status CODE, nothing on
# stdout, and stderr "cairn: ..." containing PATTERN (a fixed string).
expect_fail() {
	what=$1
	code=$2
	pattern=$3
	shift 3
	run "$@"
	if [ "$RC" -eq "$code" ] && [ -z "$OUT" ] &&
		printf '%s\n' "$ERR" | grep -q '^cairn: ' &&
		printf '%s\n' "$ERR" | grep -qF -- "$pattern"; then
		ok "$what"
	else
		not_ok "$what" "cairn $*" "want exit $code and '$pattern'" \
			"exit $RC" "stdout: $OUT" "stderr: $ERR"
	fi
}

COMMANDS="init id mesh-key put get del add rm members show ls history declare export import repair"

# ---- help and usage --------------------------------------------------------

run --help
if [ "$RC" -eq 0 ]; then
	missing=
	for c in $COMMANDS; do
		printf '%s\n' "$OUT" | grep -q "^  $c " || missing="$missing $c"
	done
	if [ -z "$missing" ]; then
		ok "--help lists every command"
	else
		not_ok "--help lists every command" "missing:$missing"
	fi
else
	not_ok "--help exits 0" "exit $RC"
fi
for c in $COMMANDS; do
	run "$c" --help
	if [ "$RC" -eq 0 ] && printf '%s\n' "$OUT" |
		grep -q "^usage: cairn \[--dir DIR\] $c" &&
		[ "$(printf '%s\n' "$OUT" | wc -l)" -ge 4 ]; then
		ok "$c --help"
	else
		not_ok "$c --help" "exit $RC" "stdout: $OUT" "stderr: $ERR"
	fi
done
expect_ok "help COMMAND" help history
expect_ok "--version" --version
expect_fail "no command" 1 "no command given"
expect_fail "unknown command" 1 "unknown command frobnicate" frobnicate
expect_fail "unknown option" 1 "unknown option --frob" --dir "$A" get --frob d f
expect_fail "missing arguments" 1 "missing arguments" --dir "$A" put d f
expect_fail "too many arguments" 1 "too many arguments" --dir "$A" get d f g
expect_fail "--dir without a value" 1 "--dir needs a directory" get d f --dir

# ---- init, id, mesh-key ----------------------------------------------------

expect_fail "a data command before init" 3 "no replica in $A" --dir "$A" get d f
expect_fail "id before init" 3 "no replica in $A" --dir "$A" id

run --dir "$A" init
ID_A=$OUT
if [ "$RC" -eq 0 ] && printf '%s\n' "$ID_A" | grep -qE '^[a-z2-7]{52}$'; then
	ok "init prints a device id"
else
	not_ok "init prints a device id" "exit $RC" "stdout: $OUT" "stderr: $ERR"
fi
expect_out "id prints the device id" "$ID_A" --dir "$A" id
CAIRN_DIR="$A" expect_out "CAIRN_DIR names the replica" "$ID_A" id
expect_out "--dir after the command" "$ID_A" id --dir "$A"
run --dir "$A" id --replica
REPLICA_A=$OUT
if [ "$RC" -eq 0 ] && printf '%s\n' "$OUT" | grep -qE '^[0-9a-f]{16}$'; then
	ok "id --replica prints 16 hex digits"
else
	not_ok "id --replica prints 16 hex digits" "exit $RC" "stdout: $OUT"
fi
run --dir "$A" mesh-key
KEY=$OUT
if [ "$RC" -eq 0 ] && printf '%s\n' "$KEY" | grep -qE '^[a-z2-7]{52}$'; then
	ok "mesh-key prints a key"
else
	not_ok "mesh-key prints a key" "exit $RC" "stdout: $OUT" "stderr: $ERR"
fi
expect_fail "a second init is refused" 2 "already holds the replica of device $ID_A" \
	--dir "$A" init
expect_out "the refused init changed nothing" "$ID_A" --dir "$A" id

expect_fail "init with a bad mesh key" 1 "not a mesh key" \
	--dir "$B" init --mesh-key not-a-key
expect_fail "a bad mesh key creates nothing" 3 "no replica" --dir "$B" id
run --dir "$B" init --mesh-key "$KEY"
ID_B=$OUT
if [ "$RC" -eq 0 ] && [ "$ID_B" != "$ID_A" ]; then
	ok "init --mesh-key joins with a new identity"
else
	not_ok "init --mesh-key joins with a new identity" "exit $RC" \
		"stdout: $OUT" "stderr: $ERR"
fi
expect_out "the joined replica has the mesh key" "$KEY" --dir "$B" mesh-key
UPPER=$(printf '%s' "$KEY" | tr a-z A-Z)
expect_ok "init accepts an upper-case mesh key" --dir "$T/c" init --mesh-key "$UPPER"
expect_out "... and keeps the same key" "$KEY" --dir "$T/c" mesh-key

# ---- put and get: every JSON scalar, and text that is not JSON -------------

# put_get WHAT VALUE WANT: put VALUE, get prints WANT.
put_get() {
	run --dir "$A" put doc "$1" "$2"
	if [ "$RC" -ne 0 ]; then
		not_ok "put $1" "exit $RC" "stderr: $ERR"
		return
	fi
	expect_out "put/get $1: $2" "$3" --dir "$A" get doc "$1"
}
put_get null null null
put_get true true true
put_get false false false
put_get int 42 42
put_get negative -7 -7
put_get int-max 9223372036854775807 9223372036854775807
put_get int-min -9223372036854775808 -9223372036854775808
put_get float 1.5 1.5
put_get float-integral 2.0 2.0
put_get float-exp 1e300 1e+300
put_get float-small 0.1 0.1
put_get nan '{"float": "NaN"}' '{"float": "NaN"}'
put_get json-string '"hello"' '"hello"'
put_get quoted-number '"01234"' '"01234"'
put_get escapes '"tab\there \"q\" \u00e9"' '"tab\there \"q\" é"'
put_get text 'hello world' '"hello world"'
put_get text-number-like '12abc' '"12abc"'
put_get text-empty '' '""'
put_get bin '{"bin": "aGVsbG8="}' '{"bin": "aGVsbG8="}'
put_get overwrite first '"first"'
put_get overwrite 2 2
expect_fail "put of a JSON array is refused" 2 "not a JSON scalar" \
	--dir "$A" put doc arr '[1, 2]'
expect_fail "put of text like an object is refused" 2 "not a JSON scalar" \
	--dir "$A" put doc obj '{oops'
expect_fail "the refused puts wrote nothing" 2 "no such field" \
	--dir "$A" get doc arr
expect_ok "-- ends the options" --dir "$A" put doc opt -- --draft
expect_out "... and the value is stored" '"--draft"' --dir "$A" get doc opt

# ---- get and del errors ---------------------------------------------------

expect_fail "get of a missing field" 2 "doc nope: no such field" \
	--dir "$A" get doc nope
expect_fail "get of a missing document" 2 "nodoc f: no such field" \
	--dir "$A" get nodoc f
expect_ok "del" --dir "$A" del doc negative
expect_fail "get after del" 2 "no such field" --dir "$A" get doc negative
expect_fail "del of a missing field" 2 "doc negative: no such field" \
	--dir "$A" del doc negative

# ---- sets -----------------------------------------------------------------

expect_out "members of a missing field" "[]" --dir "$A" members doc tags
for e in b a 3 true '"3"' a; do
	run --dir "$A" add doc tags "$e"
	[ "$RC" -eq 0 ] || not_ok "add $e" "exit $RC" "stderr: $ERR"
done
expect_out "members, sorted, no duplicates" '[true, 3, "3", "a", "b"]' \
	--dir "$A" members doc tags
expect_ok "rm" --dir "$A" rm doc tags a
expect_ok "rm of a number" --dir "$A" rm doc tags 3
expect_out "members after rm" '[true, "3", "b"]' --dir "$A" members doc tags
expect_fail "rm of a non-member" 2 "is not a member" --dir "$A" rm doc tags zzz
expect_fail "get of a set" 2 "cairn members" --dir "$A" get doc tags
expect_fail "add to a register" 2 "doc int:" --dir "$A" add doc int 5
expect_fail "members of a register" 2 "doc int:" --dir "$A" members doc int

# ---- show and ls ----------------------------------------------------------

for id in tickets/2 tickets/1 notes/x tickets10; do
	run --dir "$A" put "$id" status open
	[ "$RC" -eq 0 ] || not_ok "put $id" "exit $RC" "stderr: $ERR"
done
run --dir "$A" add tickets/1 tags urgent
run --dir "$A" add tickets/1 tags "\"on hold\""
run --dir "$A" put tickets/1 subject '"Printer \"B\" jams"'
run --dir "$A" put tickets/1 count 3
WANT='{
  "count": 3,
  "status": "open",
  "subject": "Printer \"B\" jams",
  "tags": ["on hold", "urgent"]
}'
expect_out "show" "$WANT" --dir "$A" show tickets/1
expect_out "show --json" "$WANT" --dir "$A" show tickets/1 --json
expect_fail "show of a missing document" 2 "nodoc: no such document" \
	--dir "$A" show nodoc
expect_out "ls" "doc
notes/x
tickets/1
tickets/2
tickets10" --dir "$A" ls
expect_out "ls PREFIX" "tickets/1
tickets/2" --dir "$A" ls tickets/
expect_out "ls PREFIX without a match" "" --dir "$A" ls zzz
run --dir "$A" put gone f 1
run --dir "$A" del gone f
expect_out "ls leaves out a document whose fields were deleted" "notes/x" \
	--dir "$A" ls notes

# ---- declare --------------------------------------------------------------
expect_ok "declare fww" --dir "$A" declare cfg/ fww
expect_ok "declare again" --dir "$A" declare cfg/ fww
expect_ok "first write of a fww field" --dir "$A" put cfg/a x 1
expect_fail "second write of a fww field" 2 "first-writer-wins" \
	--dir "$A" put cfg/a x 2
expect_out "the first write stays" "1" --dir "$A" get cfg/a x
expect_fail "another policy" 2 "another policy" --dir "$A" declare cfg/ lww
expect_fail "not a policy" 1 "not a policy" --dir "$A" declare cfg/ bogus
expect_ok "declare one field" --dir "$A" declare t/ multi who

# ---- history --------------------------------------------------------------

for v in one two three; do
	run --dir "$A" put h f "$v"
	[ "$RC" -eq 0 ] || not_ok "put h f $v" "exit $RC" "stderr: $ERR"
	sleep 0.01 2>/dev/null || sleep 1
done
run --dir "$A" history h f
if [ "$RC" -eq 0 ] && [ "$(printf '%s\n' "$OUT" | wc -l)" -eq 3 ]; then
	ok "history after 3 writes has 3 entries"
else
	not_ok "history after 3 writes has 3 entries" "exit $RC" "stdout: $OUT" \
		"stderr: $ERR"
fi
TAB=$(printf '\t')
ISO='[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{3}Z'
LINE1=$(printf '%s\n' "$OUT" | sed -n 1p)
LINE3=$(printf '%s\n' "$OUT" | sed -n 3p)
if printf '%s\n' "$LINE1" |
	grep -qE "^$ISO$TAB[0-9]+$TAB$REPLICA_A$TAB\"three\"${TAB}live\$"; then
	ok "history: the newest entry first, live, by this replica"
else
	not_ok "history: the newest entry first, live, by this replica" \
		"line 1: $LINE1"
fi
if printf '%s\n' "$LINE3" | grep -qE "$TAB\"one\"${TAB}old\$"; then
	ok "history: the oldest entry last, old"
else
	not_ok "history: the oldest entry last, old" "line 3: $LINE3"
fi
YEAR=$(date -u +%Y)
if printf '%s\n' "$LINE1" | grep -q "^$YEAR-"; then
	ok "history: the time is this year's"
else
	not_ok "history: the time is this year's" "line 1: $LINE1"
fi
expect_fail "history of an unknown field" 2 "no history" --dir "$A" history h nope

# ---- export and import ----------------------------------------------------

run --dir "$A" export
EXPORT_A=$OUT
printf '%s\n' "$EXPORT_A" >"$T/a.json"
if [ "$RC" -eq 0 ] && printf '%s\n' "$EXPORT_A" | grep -q '"cairn-export"'; then
	ok "export"
else
	not_ok "export" "exit $RC" "stderr: $ERR"
fi
if printf '%s\n' "$EXPORT_A" | grep -qiF -e "$ID_A" -e "$KEY" -e "$REPLICA_A"; then
	not_ok "export holds nothing of the device" "it names the id, key or replica"
else
	ok "export holds nothing of the device"
fi
run --dir "$B" import "$T/a.json"
if [ "$RC" -eq 0 ] && printf '%s\n' "$OUT" | grep -qE '^imported [1-9][0-9]* writes$'; then
	ok "import prints the number of writes ($OUT)"
else
	not_ok "import" "exit $RC" "stdout: $OUT" "stderr: $ERR"
fi
expect_out "export after import is the same" "$EXPORT_A" --dir "$B" export
run --dir "$T/c" import - <"$T/a.json"
expect_out "import - reads standard input" "$EXPORT_A" --dir "$T/c" export
expect_out "get on the imported replica" '"Printer \"B\" jams"' \
	--dir "$B" get tickets/1 subject

printf '{"format": "cairn-export", "version": 1, "documents": {"x": {"f": 1}' \
	>"$T/bad.json"
expect_fail "import of malformed JSON" 2 "malformed at byte" \
	--dir "$B" import "$T/bad.json"
expect_out "the failed import wrote nothing" "$EXPORT_A" --dir "$B" export
expect_fail "import of a missing file" 2 "$T/nope.json" \
	--dir "$B" import "$T/nope.json"

# ---- a replica held by another process ------------------------------------

mkfifo "$T/fifo"
"$HOLD" "$A" <"$T/fifo" >"$T/hold.out" 2>&1 &
HOLD_PID=$!
exec 3>"$T/fifo"
i=0
while ! grep -q '^held' "$T/hold.out" 2>/dev/null && [ $i -lt 100 ]; do
	sleep 0.1 2>/dev/null || sleep 1
	i=$((i + 1))
done
HELD=$(sed -n 's/^held //p' "$T/hold.out")
if [ -n "$HELD" ]; then
	expect_fail "a held replica: the error names the holder's pid" 3 \
		"in use by process $HELD" --dir "$A" get doc int
	expect_fail "a held replica: writes fail too" 3 "process $HELD" \
		--dir "$A" put doc int 1
else
	not_ok "the helper holds the replica" "$(cat "$T/hold.out")"
fi
exec 3>&-
wait "$HOLD_PID"
HOLD_PID=
expect_out "the replica is free again" 42 --dir "$A" get doc int

# ---- repair ----------------------------------------------------------------

expect_ok "repair of a healthy replica" --dir "$A" repair
expect_out "repair changed nothing" "$EXPORT_A" --dir "$A" export

# Damage a record in the middle of a log (docs/STORAGE.md: log-* files):
# the replica refuses to open, names the place, and `repair` keeps the
# records before it.
D="$T/d"
run --dir "$D" init
for i in 1 2 3 4 5 6 7 8; do run --dir "$D" put "doc$i" f "$i"; done
LOG=$(ls "$D" | grep '^log-' | head -n 1)
if [ -n "$LOG" ]; then
	SIZE=$(wc -c <"$D/$LOG")
	printf 'XXXX' | dd of="$D/$LOG" bs=1 seek=$((SIZE / 2)) conv=notrunc \
		2>/dev/null
	expect_fail "a damaged replica: the error says where and what to do" 3 \
		"repair\` keeps what comes before it" --dir "$D" get doc1 f
	expect_ok "repair of a damaged replica" --dir "$D" repair
	expect_out "after repair, the records before the damage are there" 1 \
		--dir "$D" get doc1 f
	expect_fail "after repair, the records after it are gone" 2 \
		"no such field" --dir "$D" get doc8 f
else
	echo "# skipped: no log-* file in $D (store layout changed?)"
fi

echo "# $CHECKS checks, $FAILED failed"
[ "$FAILED" -eq 0 ]
