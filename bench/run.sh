#!/usr/bin/env bash
# Times mailferry and the tools people would use instead, on the same work,
# against one private Dovecot on 127.0.0.1 holding a generated corpus
# (sample.BenchMessage), and prints a table: messages/s, MB/s, CPU seconds,
# peak RSS, and each peer's time over mailferry's. The rows:
#
#   IMAP -> Maildir        mailferry, mbsync (CopyArrivalDate yes), offlineimap3
#   no-op re-run           the same three again with nothing new
#   lost state             mailferry again after its state file is deleted
#   IMAP -> IMAP           mailferry, mbsync (into empty accounts on the server)
#   POP3 -> mbox           mailferry, mpop, getmail6 (the INBOX, kept on the server)
#   POP3 -> Maildir        mailferry, mpop, getmail6
#   Maildir -> Maildir     mailferry, cp -a (the source account's Maildir)
#   limits                 raw pipelined UID FETCH, APPEND (LITERAL+),
#                          MULTIAPPEND and POP3 RETR (bench/limits), against
#                          which mailferry's rate is given as a share
#
# Every copy of every round is checked by bench/fidelity against the corpus
# (presence once, folder, bytes, flags, keywords, dates; bytes only for
# POP3), so a tool that loses something shows it in the fidelity column.
# Tools run in an order that rotates between rounds; medians are printed.
#
# Settings (environment):
#   MESSAGES (10000)   corpus size; SIZE is the same knob
#   HUGE (1)           1: one INBOX message is 100 MiB; 0: none
#   ROUNDS (3)         rounds; SEED (1) the corpus
#   CONNECTIONS (4)    mailferry --connections, mbsync/offlineimap connections, raw IMAP connections
#   APPEND_BATCH (64)  messages per command of the raw MULTIAPPEND limit
#   PEERS ("mbsync offlineimap mpop getmail")   which peers run
#   SCALE ("")         e.g. "25000 50000 100000": also copy and re-run single folders of that many small messages
#   STEP_TIMEOUT (1800) seconds any one run may take; STALL (60) seconds a
#                      getmail run may go without writing before it is stopped
#   KEEP=1             keep the work directory (logs, configs, copies)
#
# Needs go, dovecot (dovecot-imapd, dovecot-pop3d) and the peers installed
# (isync, mpop, offlineimap3, getmail6); /usr/bin/time for CPU and RSS.
# Everything listens on 127.0.0.1 only, and stops when the script ends.
set -euo pipefail

MESSAGES=${MESSAGES:-${SIZE:-10000}}
HUGE=${HUGE:-1}
ROUNDS=${ROUNDS:-3}
SEED=${SEED:-1}
CONNECTIONS=${CONNECTIONS:-4}
PEERS=${PEERS:-mbsync offlineimap mpop getmail}
SCALE=${SCALE:-}
STEP_TIMEOUT=${STEP_TIMEOUT:-1800}
STALL=${STALL:-60}
APPEND_BATCH=${APPEND_BATCH:-64}

cd "$(dirname "$0")/.."
need() { command -v "$1" >/dev/null || { echo "bench: $1 is not installed ($2)" >&2; exit 2; }; }
need go go
need dovecot "dovecot-imapd, dovecot-pop3d"
[[ -x /usr/bin/time ]] || { echo "bench: /usr/bin/time is not installed (time)" >&2; exit 2; }
for p in $PEERS; do
	case $p in
	mbsync) need mbsync isync ;;
	offlineimap) need offlineimap offlineimap3 ;;
	mpop) need mpop mpop ;;
	getmail) need getmail getmail6 ;;
	*) echo "bench: unknown peer $p" >&2; exit 2 ;;
	esac
done
has_peer() { [[ " $PEERS " == *" $1 "* ]]; }

WORK=$(mktemp -d "${TMPDIR:-/tmp}/mailferry-bench-XXXXXX")
RETIRED=$WORK/retired
SERVER_PIDS=()
cleanup() {
	for pid in "${SERVER_PIDS[@]}"; do
		kill "$pid" 2>/dev/null || true
		wait "$pid" 2>/dev/null || true
	done
	rm -rf "$RETIRED"
	if [[ ${KEEP:-0} == 1 ]]; then echo "work directory kept: $WORK"; else rm -rf "$WORK"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

echo "building…"
mkdir -p "$WORK/bin"
go build -o "$WORK/bin/" ./internal/dovecot/cmd/dovecot-bench-server ./bench/limits ./bench/fidelity
go build -o "$WORK/bin/mailferry" ./cmd/mailferry
BIN=$WORK/bin

# start_server DIR ARGS…: a dovecot-bench-server whose variables land in
# DIR/server.env; returns when it has loaded its corpus.
start_server() {
	local dir=$1; shift
	mkdir -p "$dir"
	"$BIN/dovecot-bench-server" "$@" >"$dir/server.env" 2>"$dir/server.log" </dev/null &
	SERVER_PIDS+=($!)
	local pid=$!
	for _ in $(seq 1 9000); do
		grep -q '^READY=1' "$dir/server.env" 2>/dev/null && return 0
		kill -0 "$pid" 2>/dev/null || { echo "bench: server failed:" >&2; cat "$dir/server.log" >&2; exit 1; }
		sleep 0.2
	done
	echo "bench: server not ready after 30 minutes" >&2
	exit 1
}

HUGE_FLAG=-huge=$([[ $HUGE == 1 ]] && echo true || echo false)
echo "starting Dovecot and loading $MESSAGES messages…"
start_server "$WORK/server" -messages "$MESSAGES" -seed "$SEED" "$HUGE_FLAG"
# shellcheck disable=SC1091
source "$WORK/server/server.env"
MAILROOT=$(dirname "$(dirname "$SRC_MAILDIR")") # …/mail, one home per user
printf 'corpus: %d messages, %.1f MB in %d folders, largest %.1f MB; INBOX %d messages, %.1f MB (loaded in %s s)\n' \
	"$MESSAGES" "$(echo "$BYTES / 1000000" | bc -l)" "$FOLDERS" "$(echo "$LARGEST / 1000000" | bc -l)" \
	"$INBOX_MESSAGES" "$(echo "$INBOX_BYTES / 1000000" | bc -l)" "$LOAD_SECONDS"

# What the rounds write is kept until the end (see retire): about twelve
# copies of the corpus a round.
need_mb=$((ROUNDS * 12 * BYTES / 1000000))
free_mb=$(df -Pm "$WORK" | awk 'NR == 2 {print $4}')
if ((free_mb < need_mb)); then
	echo "bench: $WORK has $free_mb MB free; $ROUNDS rounds of this corpus need about $need_mb MB" >&2
	exit 2
fi

export MAILFERRY_SOURCE_PASSWORD=$PASSWORD MAILFERRY_DEST_PASSWORD=$PASSWORD XDG_STATE_HOME=$WORK/xdg-state
CORPUS=(-messages "$MESSAGES" -seed "$SEED" "$HUGE_FLAG")
RESULTS=$WORK/results

# timed ROW TOOL COMMAND…: runs COMMAND bounded by STEP_TIMEOUT and keeps
# its wall seconds, CPU seconds (user+sys of it and its children) and peak
# RSS; check then appends the fidelity of what it wrote to the results.
timed() {
	local row=$1 tool=$2; shift 2
	local log="$WORK/logs/$row-$tool-$ROUND" t0 t1 rc=0
	mkdir -p "$WORK/logs"
	# What the previous step left unwritten (cp -a and the tools that do
	# not fsync leave their data dirty) is written now, not during this
	# step: a tool that syncs would otherwise pay for the one before it.
	sync
	t0=$(date +%s.%N)
	timeout "$STEP_TIMEOUT" /usr/bin/time -v -o "$log.time" "$@" >"$log.out" 2>&1 </dev/null &
	local pid=$! size=-1 now still=0
	# A run whose output (WATCH) stops growing for STALL seconds is stuck
	# (getmail6 hangs now and then after a delivery) and is stopped.
	while [[ -n ${WATCH:-} ]] && kill -0 "$pid" 2>/dev/null; do
		sleep 1
		now=$(du -sb "$WATCH" 2>/dev/null | cut -f1)
		if [[ $now == "$size" ]]; then still=$((still + 1)); else still=0 size=$now; fi
		if ((still >= STALL)); then
			echo "bench: $row $tool made no progress for $STALL s; stopped" >>"$log.out"
			kill "$pid" 2>/dev/null || true
		fi
	done
	wait "$pid" || rc=$?
	((still < STALL)) || rc=stalled
	t1=$(date +%s.%N)
	# Wall seconds as /usr/bin/time measured them; the script's own clock
	# if it did not finish.
	LAST_SECS=$(awk -F': ' '/Elapsed \(wall clock\)/ {n = split($2, a, ":"); s = 0; for (i = 1; i <= n; i++) s = s * 60 + a[i]; print s}' "$log.time" 2>/dev/null)
	[[ -n $LAST_SECS ]] || LAST_SECS=$(echo "$t1 - $t0" | bc -l)
	LAST_ROW=$row LAST_TOOL=$tool LAST_RC=$rc
	# A run that was stopped leaves no figures: "-" keeps the columns.
	LAST_CPU=$(awk -F': ' '/User time|System time/ {s += $2; n++} END {if (n) printf "%.2f", s; else print "-"}' "$log.time" 2>/dev/null || echo -)
	LAST_RSS=$(awk -F': ' '/Maximum resident set size/ {printf "%.1f", $2/1024; n++} END {if (!n) print "-"}' "$log.time" 2>/dev/null || echo -)
	if [[ $rc != 0 ]]; then
		echo "bench: $row $tool failed (exit $rc); last lines:"
		tail -n 8 "$log.out" | sed 's/^/  /'
	fi
}

# check STORE FIDELITY-OPTIONS…: records the last run with the fidelity of
# STORE ("-" to record without a check, as for the raw limits).
check() {
	local store=$1; shift
	local fid=unchecked line rc=0
	if [[ $store != - ]]; then
		line=$("$BIN/fidelity" "${CORPUS[@]}" "$@" "$store" 2>&1) || rc=$?
		echo "$LAST_ROW $LAST_TOOL round $ROUND: $line" >>"$WORK/fidelity.log"
		fid=ok
		# The parts that are not "… ok", without spaces, for the table.
		[[ $rc == 0 ]] || fid=$(echo "$line" | tr ';' '\n' | sed 's/^ *//' | awk '/ ok$/ {next} /of .* messages/ {if ($1 == $3) next; $0 = $1 "-of-" $3} {print}' | sed 's/ /-/g' | paste -sd, -)
	fi
	[[ $LAST_RC == 0 ]] || fid="exit-$LAST_RC,$fid"
	echo "$LAST_ROW $LAST_TOOL $LAST_SECS $LAST_CPU $LAST_RSS $fid" >>"$RESULTS"
}

write_configs() {
	cat >"$WORK/mbsyncrc" <<RC
IMAPAccount src
Host $HOST
Port $IMAPS_PORT
User $SRC_USER
Pass $PASSWORD
SSLType IMAPS
CertificateFile $CA_FILE
PipelineDepth 50

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

MaildirStore near
Inbox $WORK/out/mbsync-maildir
SubFolders Maildir++

Channel to-maildir
Far :src:
Near :near:
Patterns *
Create Near
Sync Pull
Expunge None
CopyArrivalDate yes
SyncState $WORK/out/mbsync-state/maildir/

Channel to-imap
Far :src:
Near :dst:
Patterns *
Create Near
Sync Pull
Expunge None
CopyArrivalDate yes
SyncState $WORK/out/mbsync-state/imap/
RC
	cat >"$WORK/offlineimaprc" <<RC
[general]
accounts = bench
metadata = $WORK/out/offlineimap-meta
maxsyncaccounts = 1
ui = quiet

[Account bench]
localrepository = local
remoterepository = remote

[Repository local]
type = Maildir
localfolders = $WORK/out/offlineimap-maildir
sep = .

[Repository remote]
type = IMAP
remotehost = $HOST
remoteport = $IMAPS_PORT
ssl = yes
sslcacertfile = $CA_FILE
remoteuser = $SRC_USER
remotepass = $PASSWORD
readonly = True
maxconnections = $CONNECTIONS
RC
	for kind in mbox maildir; do
		local delivery="mbox $WORK/out/mpop.mbox"
		[[ $kind == maildir ]] && delivery="maildir $WORK/out/mpop-maildir"
		cat >"$WORK/mpoprc-$kind" <<RC
account bench
host $HOST
port $POP3S_PORT
tls on
tls_starttls off
tls_trust_file $CA_FILE
user $SRC_USER
password $PASSWORD
auth user
keep on
only_new off
received_header off
uidls_file $WORK/out/mpop-uidls-$kind
delivery $delivery
RC
		chmod 600 "$WORK/mpoprc-$kind"
		local dest="type = Mboxrd
path = $WORK/out/getmail.mbox"
		[[ $kind == maildir ]] && dest="type = Maildir
path = $WORK/out/getmail-maildir/"
		cat >"$WORK/getmailrc-$kind" <<RC
[retriever]
type = SimplePOP3SSLRetriever
server = $HOST
port = $POP3S_PORT
username = $SRC_USER
password = $PASSWORD
ca_certs = $WORK/ca.pem

[destination]
$dest

[options]
read_all = true
delete = false
delivered_to = false
received = false
verbose = 0
RC
	done
}
# getmail refuses to deliver as root, so as root it runs as nobody, which
# must be able to reach its files.
AS_GETMAIL=()
if [[ $(id -u) == 0 ]]; then
	chmod 755 "$WORK"
	AS_GETMAIL=(setpriv --reuid=nobody --regid=nogroup --clear-groups)
fi
cp "$CA_FILE" "$WORK/ca.pem"
chmod 644 "$WORK/ca.pem"
write_configs
chmod 644 "$WORK"/getmailrc-*

mkmaildir() { mkdir -p "$1/cur" "$1/new" "$1/tmp"; }

# retire PATH…: moves each PATH aside instead of deleting it; what is
# retired is deleted when the script ends, so nothing is deleted while a
# run is timed or just before one. An ext4 without a journal does not
# reuse an inode for 60 s (6 minutes while its inode table is unwritten)
# after a deletion, and every file it creates scans past each such inode
# (recently_deleted in perf). A cp -a of the corpus Maildir took 0.55 s
# right after one copy was deleted, 4.96 s right after five were (a
# round's outputs are more), 8.47 s after one more, nearly all of it system
# time, and 0.88 s once nothing had been deleted for 75 s; whichever tool
# ran after a deletion paid for it.
retire() {
	local p
	mkdir -p "$RETIRED"
	for p in "$@"; do
		[[ -e $p ]] || continue
		mv "$p" "$(mktemp -d "$RETIRED/XXXXXX")/"
	done
}

# reset: empty outputs, state files and destination accounts. The
# accounts' Maildirs are removed while no session is open; Dovecot makes
# them anew.
reset() {
	retire "$WORK/out" "$WORK/xdg-state" "$MAILROOT/mbsync/Maildir" "$MAILROOT/mailferry/Maildir" "$MAILROOT/limits/Maildir"
	mkdir -p "$WORK/out/mbsync-state/maildir" "$WORK/out/mbsync-state/imap" "$WORK/out/mbsync-maildir" \
		"$WORK/out/offlineimap-meta" "$WORK/out/getmail-state-mbox" "$WORK/out/getmail-state-maildir"
	mkmaildir "$WORK/out/mpop-maildir"
	mkmaildir "$WORK/out/getmail-maildir"
	: >"$WORK/out/getmail.mbox"
	if [[ $(id -u) == 0 ]]; then
		chown -R nobody "$WORK/out/getmail-maildir" "$WORK/out/getmail.mbox" "$WORK/out/getmail-state-mbox" "$WORK/out/getmail-state-maildir"
	fi
}

SRC_IMAP="imaps://$SRC_USER@$HOST:$IMAPS_PORT"
SRC_POP3="pop3s://$SRC_USER@$HOST:$POP3S_PORT"
MF=("$BIN/mailferry" copy --ca-file "$CA_FILE" --connections "$CONNECTIONS" -q)

# One function per row and tool: run, then check what was written.
to_maildir_mailferry() { timed "$1" mailferry "${MF[@]}" "$SRC_IMAP" "maildir:$WORK/out/mf-maildir"; check "maildir:$WORK/out/mf-maildir"; }
to_maildir_mbsync() { timed "$1" mbsync mbsync -c "$WORK/mbsyncrc" to-maildir; check "maildir:$WORK/out/mbsync-maildir"; }
to_maildir_offlineimap() { timed "$1" offlineimap offlineimap -c "$WORK/offlineimaprc" -o -u quiet; check "maildir:$WORK/out/offlineimap-maildir"; }
to_imap_mailferry() { timed imap-imap mailferry "${MF[@]}" "$SRC_IMAP" "imaps://mailferry@$HOST:$IMAPS_PORT"; check "maildir:$MAILROOT/mailferry/Maildir"; }
to_imap_mbsync() { timed imap-imap mbsync mbsync -c "$WORK/mbsyncrc" to-imap; check "maildir:$MAILROOT/mbsync/Maildir"; }
pop3_mbox_mailferry() { timed pop3-mbox mailferry "${MF[@]}" "$SRC_POP3" "mbox:$WORK/out/mf.mbox"; check "mbox:$WORK/out/mf.mbox" -inbox -check bytes; }
pop3_mbox_mpop() { timed pop3-mbox mpop mpop -C "$WORK/mpoprc-mbox" -q bench; check "mbox:$WORK/out/mpop.mbox" -inbox -check bytes; }
pop3_mbox_getmail() { WATCH=$WORK/out/getmail.mbox timed pop3-mbox getmail "${AS_GETMAIL[@]}" getmail --rcfile "$WORK/getmailrc-mbox" --getmaildir "$WORK/out/getmail-state-mbox" -q; check "mbox:$WORK/out/getmail.mbox" -inbox -check bytes; }
pop3_maildir_mailferry() { timed pop3-maildir mailferry "${MF[@]}" "$SRC_POP3" "maildir:$WORK/out/mf-pop3-maildir"; check "maildir:$WORK/out/mf-pop3-maildir" -inbox -check folders,bytes; }
pop3_maildir_mpop() { timed pop3-maildir mpop mpop -C "$WORK/mpoprc-maildir" -q bench; check "maildir:$WORK/out/mpop-maildir" -inbox -check folders,bytes; }
pop3_maildir_getmail() { WATCH=$WORK/out/getmail-maildir timed pop3-maildir getmail "${AS_GETMAIL[@]}" getmail --rcfile "$WORK/getmailrc-maildir" --getmaildir "$WORK/out/getmail-state-maildir" -q; check "maildir:$WORK/out/getmail-maildir" -inbox -check folders,bytes; }
local_mailferry() { timed maildir-maildir mailferry "${MF[@]}" "maildir:$SRC_MAILDIR" "maildir:$WORK/out/mf-m2m"; check "maildir:$WORK/out/mf-m2m"; }
local_cp() { timed maildir-maildir cp-a cp -a "$SRC_MAILDIR" "$WORK/out/cp-m2m"; check "maildir:$WORK/out/cp-m2m"; }
LIMIT=("-ca" "$CA_FILE" "-password" "$PASSWORD")
limit_fetch() { timed limit-fetch raw "$BIN/limits" fetch -addr "$HOST:$IMAPS_PORT" -user "$SRC_USER" -connections "$CONNECTIONS" "${LIMIT[@]}"; check -; }
# The raw APPENDs start from an empty account each (no session is open).
limit_append() { retire "$MAILROOT/limits/Maildir"; timed limit-append raw "$BIN/limits" append -addr "$HOST:$IMAPS_PORT" -user limits -connections "$CONNECTIONS" -maildir "$SRC_MAILDIR" "${LIMIT[@]}"; check -; }
limit_multiappend() { retire "$MAILROOT/limits/Maildir"; timed limit-multiappend raw "$BIN/limits" append -addr "$HOST:$IMAPS_PORT" -user limits -connections "$CONNECTIONS" -batch "$APPEND_BATCH" -maildir "$SRC_MAILDIR" "${LIMIT[@]}"; check -; }
limit_retr() { timed limit-retr raw "$BIN/limits" retr -addr "$HOST:$POP3S_PORT" -user "$SRC_USER" "${LIMIT[@]}"; check -; }

# rotate N WORDS…: WORDS rotated left by N, so each tool goes first in turn.
rotate() {
	local n=$1; shift
	local a=("$@") k
	k=$((n % ${#a[@]}))
	echo "${a[@]:k}" "${a[@]:0:k}"
}
peers_of() { # the tools of a row: mailferry and the installed peers named
	local out=mailferry p
	for p in "$@"; do has_peer "$p" && out+=" $p"; done
	echo "$out"
}

for ROUND in $(seq 1 "$ROUNDS"); do
	reset
	echo "round $ROUND of $ROUNDS (load average $(cut -d' ' -f1-3 /proc/loadavg))"
	r=$((ROUND - 1))
	# shellcheck disable=SC2046
	for t in $(rotate $r $(peers_of mbsync offlineimap)); do "to_maildir_$t" imap-maildir; done
	for t in $(rotate $r $(peers_of mbsync offlineimap)); do "to_maildir_$t" noop-rerun; done
	rm -f "$WORK/out/mf-maildir/mailferry.state"
	to_maildir_mailferry lost-state
	for t in $(rotate $r $(peers_of mbsync)); do "to_imap_$t"; done
	for t in $(rotate $r $(peers_of mpop getmail)); do "pop3_mbox_$t"; done
	for t in $(rotate $r $(peers_of mpop getmail)); do "pop3_maildir_$t"; done
	for t in $(rotate $r mailferry cp); do "local_$t"; done
	for t in $(rotate $r fetch append multiappend retr); do "limit_$t"; done
done

median() { { grep -v '^-$' || true; } | sort -g | awk '{v[NR] = $1} END {if (NR == 0) print "-"; else if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2}'; }
col() { awk -v r="$1" -v t="$2" -v c="$3" '$1 == r && $2 == t {print $c}' "$RESULTS"; }
secs_of() { col "$1" "$2" 3 | median; }

echo
echo "$MESSAGES messages ($(echo "$BYTES / 1000000" | bc -l | xargs printf '%.0f') MB), medians of $ROUNDS rounds; CPU is user+sys; RSS the largest seen"
echo "ratio: the peer's time over mailferry's (above 1: mailferry is faster); fidelity: every round checked"
printf '%-16s %-12s %9s %9s %8s %8s %9s %7s  %s\n' row tool seconds msgs/s MB/s 'CPU s' 'RSS MiB' ratio fidelity
for row in imap-maildir noop-rerun lost-state imap-imap pop3-mbox pop3-maildir maildir-maildir; do
	msgs=$MESSAGES bytes=$BYTES
	if [[ $row == pop3-* ]]; then msgs=$INBOX_MESSAGES bytes=$INBOX_BYTES; fi
	mf=$(secs_of "$row" mailferry)
	for tool in mailferry mbsync offlineimap mpop getmail cp-a; do
		grep -q "^$row $tool " "$RESULTS" || continue
		s=$(secs_of "$row" "$tool")
		cpu=$(col "$row" "$tool" 4 | median)
		rss=$(col "$row" "$tool" 5 | { grep -v '^-$' || true; } | sort -g | tail -n 1)
		fid=$(col "$row" "$tool" 6 | sort -u | { grep -v '^ok$' || true; } | tr '\n' ' ')
		ratio=-
		[[ $tool != mailferry ]] && ratio=$(printf '%.2f' "$(echo "$s / $mf" | bc -l)")
		if [[ $row == noop-rerun || $row == lost-state ]]; then
			rate=- mbs=-
		else
			rate=$(printf '%.0f' "$(echo "$msgs / $s" | bc -l)") mbs=$(printf '%.1f' "$(echo "$bytes / 1000000 / $s" | bc -l)")
		fi
		printf '%-16s %-12s %9.2f %9s %8s %8s %9s %7s  %s\n' "$row" "$tool" "$s" "$rate" "$mbs" "$cpu" "${rss:--}" "$ratio" "${fid:-ok}"
	done
done
echo
echo "each round's ratio, in the order the rounds ran (a target may ask for every round, not only the median)"
# The results file holds one line per tool, row and round, in the order
# they ran, so the n-th line of a peer and of mailferry are one round's.
rounds_of() { paste -d' ' <(col "$1" mailferry 3) <(col "$1" "$2" 3) | awk '{if ($1 == "-" || $2 == "-" || $1 + 0 == 0) printf "- "; else printf "%.2f ", $2 / $1}'; }
for row in imap-maildir noop-rerun imap-imap pop3-mbox pop3-maildir maildir-maildir; do
	for tool in mbsync offlineimap mpop getmail cp-a; do
		grep -q "^$row $tool " "$RESULTS" || continue
		printf '%-16s %-12s %s\n' "$row" "$tool" "$(rounds_of "$row" "$tool")"
	done
done
echo
echo "limits on the same server; share: mailferry's rate as a part of the limit's"
printf '%-34s %9s %8s %8s  %s\n' limit seconds MB/s 'CPU s' 'mailferry share'
limit_row() { # NAME ROW TOOL BYTES MAILFERRY-ROW…
	local name=$1 row=$2 tool=$3 bytes=$4; shift 4
	grep -q "^$row $tool " "$RESULTS" || return 0
	local s share="" m
	s=$(secs_of "$row" "$tool")
	for m in "$@"; do
		grep -q "^$m mailferry " "$RESULTS" || continue
		share+="$m $(printf '%.0f%%' "$(echo "100 * $s / $(secs_of "$m" mailferry)" | bc -l)")  "
	done
	printf '%-34s %9.2f %8.1f %8s  %s\n' "$name" "$s" "$(echo "$bytes / 1000000 / $s" | bc -l)" "$(col "$row" "$tool" 4 | median)" "$share"
}
limit_row "raw pipelined UID FETCH" limit-fetch raw "$BYTES" imap-maildir imap-imap
limit_row "raw pipelined APPEND (LITERAL+)" limit-append raw "$BYTES" imap-imap
limit_row "raw MULTIAPPEND ($APPEND_BATCH a command)" limit-multiappend raw "$BYTES" imap-imap
limit_row "raw pipelined POP3 RETR" limit-retr raw "$INBOX_BYTES" pop3-mbox pop3-maildir
limit_row "cp -a of the Maildir" maildir-maildir cp-a "$BYTES" maildir-maildir
echo "fidelity details: $WORK/fidelity.log"
[[ ${KEEP:-0} == 1 ]] || sort -u "$WORK/fidelity.log" | sed -n '1,40p'

# The scaling runs: one folder of N small messages, copied and re-run. The
# server's Maildir is written directly (-direct): APPENDing 100,000 messages
# takes Dovecot longer than the runs. Its Maildir sink stores $Forwarded as
# Maildir's P flag, which Dovecot does not serve as a keyword, so keywords
# are not compared here (the rows above compare them).
if [[ -n $SCALE ]]; then
	echo
	echo "scaling: one folder of N small messages (mailferry IMAP -> Maildir)"
	printf '%8s %8s %10s %8s %9s %8s %10s %9s  %s\n' N 'copy s' 'copy CPU' 'msgs/s' 'copy RSS' 'no-op s' 'no-op CPU' 'no-op RSS' fidelity
	for n in $SCALE; do
		start_server "$WORK/scale-$n" -messages "$n" -seed "$SEED" -huge=false -folder Big -direct
		(
			# shellcheck disable=SC1090
			source "$WORK/scale-$n/server.env"
			ROUND=scale-$n
			dest=$WORK/scale-$n/maildir
			# This server's certificate, not the first one's.
			mf=("$BIN/mailferry" copy --ca-file "$CA_FILE" --connections "$CONNECTIONS" -q "imaps://src@$HOST:$IMAPS_PORT" "maildir:$dest")
			timed "scale-$n" copy "${mf[@]}"
			copy=$LAST_SECS copycpu=$LAST_CPU rss=$LAST_RSS copyrc=$LAST_RC
			fid=$("$BIN/fidelity" -messages "$n" -seed "$SEED" -huge=false -folder Big -check folders,bytes,flags,dates "maildir:$dest" 2>&1 || true)
			timed "scale-$n" noop "${mf[@]}"
			[[ $copyrc == 0 && $LAST_RC == 0 ]] || fid="exit $copyrc/$LAST_RC; $fid"
			printf '%8d %8.2f %10s %8.0f %9s %8.2f %10s %9s  %s\n' "$n" "$copy" "$copycpu" "$(echo "$n / $copy" | bc -l)" "$rss" "$LAST_SECS" "$LAST_CPU" "$LAST_RSS" "$fid"
		)
		kill "${SERVER_PIDS[-1]}" 2>/dev/null || true
		wait "${SERVER_PIDS[-1]}" 2>/dev/null || true
		retire "$WORK/scale-$n"
	done
fi
