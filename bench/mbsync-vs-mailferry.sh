#!/usr/bin/env bash
# Times mbsync (isync) and mailferry on the same generated corpus against the
# same private Dovecot on 127.0.0.1:
#   1. IMAP -> Maildir   (mbsync: IMAPStore -> MaildirStore; mailferry copy imaps://… maildir:…)
#   2. IMAP -> IMAP      (mbsync: IMAPStore -> IMAPStore;   mailferry copy imaps://… imaps://…)
# and prints seconds, messages/s, MB/s and peak RSS of each, and the ratio
# mailferry/mbsync. Run 1 is repeated with nothing new to copy (the cost of a
# scheduled backup). Every copy is checked by counting the messages that
# arrived, so a run that loses or duplicates mail is reported, not timed.
#
# Needs: go, dovecot (dovecot-imapd), mbsync (isync); /usr/bin/time for RSS.
# Settings (environment): MESSAGES (2000), AVG_SIZE (40000 bytes),
# MAX_SIZE (1048576 bytes), SEED (1), CONNECTIONS (mailferry --connections, 4),
# ROUNDS (1; each round copies into empty destinations again, the order of
# the two tools alternates, and the median is printed), KEEP=1 keeps the
# work directory. Everything runs on 127.0.0.1 and stops
# when the script ends (the server also stops itself after an hour).
set -euo pipefail

MESSAGES=${MESSAGES:-2000}
AVG_SIZE=${AVG_SIZE:-40000}
MAX_SIZE=${MAX_SIZE:-1048576}
SEED=${SEED:-1}
CONNECTIONS=${CONNECTIONS:-4}
ROUNDS=${ROUNDS:-1}

cd "$(dirname "$0")/.."
for tool in go dovecot mbsync; do
	command -v "$tool" >/dev/null || { echo "bench: $tool is not installed" >&2; exit 2; }
done

WORK=$(mktemp -d "${TMPDIR:-/tmp}/mailferry-bench-XXXXXX")
SERVER_PID=
cleanup() {
	if [[ -n $SERVER_PID ]]; then
		kill "$SERVER_PID" 2>/dev/null || true
		wait "$SERVER_PID" 2>/dev/null || true
	fi
	if [[ ${KEEP:-0} == 1 ]]; then echo "work directory kept: $WORK"; else rm -rf "$WORK"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

echo "building…"
go build -o "$WORK/dovecot-bench-server" ./internal/dovecot/cmd/dovecot-bench-server
HAVE_MAILFERRY=1
if ! go build -o "$WORK/mailferry" ./cmd/mailferry 2>"$WORK/build-mailferry.log"; then
	HAVE_MAILFERRY=0
	echo "bench: cmd/mailferry does not build; timing mbsync only:" >&2
	sed 's/^/  /' "$WORK/build-mailferry.log" >&2
fi

echo "starting Dovecot and loading $MESSAGES messages…"
"$WORK/dovecot-bench-server" -messages "$MESSAGES" -avg-size "$AVG_SIZE" -max-size "$MAX_SIZE" -seed "$SEED" \
	>"$WORK/server.env" 2>"$WORK/server.log" </dev/null &
SERVER_PID=$!
for _ in $(seq 1 600); do
	grep -q '^READY=1' "$WORK/server.env" 2>/dev/null && break
	kill -0 "$SERVER_PID" 2>/dev/null || { echo "bench: server failed:" >&2; cat "$WORK/server.log" >&2; exit 1; }
	sleep 0.2
done
grep -q '^READY=1' "$WORK/server.env" || { echo "bench: server not ready after 120 s" >&2; exit 1; }
# shellcheck disable=SC1091
source "$WORK/server.env"
MAILROOT=$(dirname "$(dirname "$SRC_MAILDIR")")   # …/mail, one home per user
printf 'corpus: %d messages, %.1f MB, largest %.0f KB, %d folders (loaded by APPEND in %s s)\n' \
	"$MESSAGES" "$(echo "$BYTES / 1000000" | bc -l)" "$(echo "$LARGEST / 1000" | bc -l)" "$FOLDERS" "$LOAD_SECONDS"

# count_maildir DIR: messages in a Maildir++ tree (cur/ and new/ of the root
# and of every dot-folder).
count_maildir() {
	find "$1" -path '*/cur/*' -type f -o -path '*/new/*' -type f 2>/dev/null | wc -l
}

# timed NAME COMMAND…: runs COMMAND, keeping wall seconds, CPU seconds
# (user+sys) and peak RSS in $LAST; record writes them to the results.
timed() {
	local name=$1; shift
	local t0 t1 rc=0 cpu=n/a rss=n/a
	t0=$(date +%s.%N)
	if [[ -x /usr/bin/time ]]; then
		/usr/bin/time -v -o "$WORK/$name.time" "$@" >"$WORK/$name.log" 2>&1 || rc=$?
		cpu=$(awk -F': ' '/User time|System time/ {s += $2} END {printf "%.2f", s}' "$WORK/$name.time")
		rss=$(awk -F': ' '/Maximum resident set size/ {printf "%.1f", $2/1024}' "$WORK/$name.time")
	else
		"$@" >"$WORK/$name.log" 2>&1 || rc=$?
	fi
	t1=$(date +%s.%N)
	LAST_NAME=$name LAST_SECS=$(echo "$t1 - $t0" | bc -l) LAST_CPU=$cpu LAST_RSS=$rss LAST_STATUS=ok
	if [[ $rc != 0 ]]; then
		LAST_STATUS="exit-$rc"
		echo "bench: $name failed (exit $rc); last lines of its output:"
		tail -n 15 "$WORK/$name.log" | sed 's/^/  /'
	fi
}

# record COUNT: the copy just timed must hold every message, no more, no less.
record() {
	if [[ $1 != "$MESSAGES" && $LAST_STATUS == ok ]]; then
		LAST_STATUS="holds-$1-of-$MESSAGES"
		echo "bench: $LAST_NAME: the destination holds $1 messages, not $MESSAGES"
	fi
	echo "$LAST_NAME $LAST_SECS $LAST_CPU $LAST_RSS $LAST_STATUS" >>"$WORK/results"
}

cat >"$WORK/mbsyncrc" <<RC
IMAPAccount src
Host $HOST
Port $IMAPS_PORT
User $SRC_USER
Pass $PASSWORD
SSLType IMAPS
CertificateFile $CA_FILE

IMAPStore src
Account src

IMAPAccount dst
Host $HOST
Port $IMAPS_PORT
User mbsync
Pass $PASSWORD
SSLType IMAPS
CertificateFile $CA_FILE

IMAPStore dst
Account dst

# Maildir++ keeps INBOX at the root and other folders as .Name dirs in it,
# as Dovecot and mailferry do; mbsync then takes no Path.
MaildirStore near
Inbox $WORK/mbsync-maildir
SubFolders Maildir++

Channel to-maildir
Far :src:
Near :near:
Patterns *
Create Near
Sync Pull
Expunge None
CopyArrivalDate yes
SyncState $WORK/mbsync-state/maildir/

Channel to-imap
Far :src:
Near :dst:
Patterns *
Create Near
Sync Pull
Expunge None
CopyArrivalDate yes
SyncState $WORK/mbsync-state/imap/
RC

export MAILFERRY_SOURCE_PASSWORD=$PASSWORD MAILFERRY_DEST_PASSWORD=$PASSWORD XDG_STATE_HOME=$WORK/xdg-state
SRC_URL="imaps://$SRC_USER@$HOST:$IMAPS_PORT"

mbsync_maildir() {
	timed "mbsync-maildir$1" mbsync -c "$WORK/mbsyncrc" to-maildir
	record "$(count_maildir "$WORK/mbsync-maildir")"
}
mailferry_maildir() {
	timed "mailferry-maildir$1" "$WORK/mailferry" copy "$SRC_URL" "maildir:$WORK/mailferry-maildir" \
		--ca-file "$CA_FILE" --connections "$CONNECTIONS" -q
	record "$(count_maildir "$WORK/mailferry-maildir")"
}
mbsync_imap() {
	timed mbsync-imap mbsync -c "$WORK/mbsyncrc" to-imap
	record "$(count_maildir "$MAILROOT/mbsync/Maildir")"
}
mailferry_imap() {
	timed mailferry-imap "$WORK/mailferry" copy "$SRC_URL" "imaps://mailferry@$HOST:$IMAPS_PORT" \
		--ca-file "$CA_FILE" --connections "$CONNECTIONS" -q
	record "$(count_maildir "$MAILROOT/mailferry/Maildir")"
}

TOOLS="mbsync mailferry"
[[ $HAVE_MAILFERRY == 1 ]] || TOOLS=mbsync
for round in $(seq 1 "$ROUNDS"); do
	# Every round starts from empty destinations. The destination accounts'
	# Maildirs are removed while no session is open; Dovecot makes them anew.
	rm -rf "$WORK/mbsync-maildir" "$WORK/mailferry-maildir" "$WORK/mbsync-state" "$WORK/xdg-state" \
		"$MAILROOT/mbsync/Maildir" "$MAILROOT/mailferry/Maildir"
	mkdir -p "$WORK/mbsync-state/maildir" "$WORK/mbsync-state/imap" "$WORK/mbsync-maildir"
	order=$TOOLS
	if (( round % 2 == 0 )); then order=$(echo "$TOOLS" | tr ' ' '\n' | tac | tr '\n' ' '); fi
	echo "round $round of $ROUNDS (order: $order; load average $(cut -d' ' -f1-3 /proc/loadavg))"
	for tool in $order; do "${tool}_maildir" ""; done
	for tool in $order; do "${tool}_maildir" -rerun; done
	for tool in $order; do "${tool}_imap"; done
done

echo
echo "median of $ROUNDS round(s); peak RSS is the largest seen; CPU is the client's user+sys time"
printf '%-24s %9s %8s %10s %8s %12s  %s\n' run seconds 'CPU s' 'msgs/s' 'MB/s' 'peak RSS MB' result
median() { sort -g | awk '{v[NR] = $1} END {if (NR == 0) print "nan"; else if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2}'; }
declare -A MEDIAN
for name in mbsync-maildir mailferry-maildir mbsync-maildir-rerun mailferry-maildir-rerun mbsync-imap mailferry-imap; do
	grep -q "^$name " "$WORK/results" 2>/dev/null || continue
	status=$(awk -v n="$name" '$1 == n && $5 != "ok" {print $5; exit}' "$WORK/results")
	if [[ -n $status ]]; then
		printf '%-24s %9s %8s %10s %8s %12s  %s\n' "$name" - - - - - "$status"
		continue
	fi
	secs=$(awk -v n="$name" '$1 == n {print $2}' "$WORK/results" | median)
	cpu=$(awk -v n="$name" '$1 == n {print $3}' "$WORK/results" | median)
	rss=$(awk -v n="$name" '$1 == n {print $4}' "$WORK/results" | sort -g | tail -n 1)
	MEDIAN[$name]=$secs
	printf '%-24s %9.2f %8s %10.0f %8.1f %12s  ok\n' "$name" "$secs" "$cpu" \
		"$(echo "$MESSAGES / $secs" | bc -l)" "$(echo "$BYTES / 1000000 / $secs" | bc -l)" "$rss"
done
echo
for kind in maildir maildir-rerun imap; do
	if [[ -n ${MEDIAN[mailferry-$kind]:-} && -n ${MEDIAN[mbsync-$kind]:-} ]]; then
		printf '%-24s mailferry/mbsync time ratio: %.2f (below 1: mailferry is faster)\n' \
			"IMAP -> $kind" "$(echo "${MEDIAN[mailferry-$kind]} / ${MEDIAN[mbsync-$kind]}" | bc -l)"
	fi
done
