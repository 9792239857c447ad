# Phase timing for .ci/run and test.sh, which source this file.
#
#   phase NAME CMD [ARGS...]   run CMD, print how long it took, record it
#   phase_record DEPTH SECONDS STATUS NAME
#                              record a time measured elsewhere (go test's
#                              per-package times), DEPTH levels under the
#                              current phase
#
# The first script to source this file owns the table: when it exits,
# however it exits, it prints every phase with its wall time, nested
# phases indented under their parent, and the total. A script it runs as
# a phase (test.sh under .ci/run) adds its own phases to the same table
# through LAMBDAHOST_PHASE_LOG, one level down.
#
# Records are lines of the log: "start<TAB>ID<TAB>DEPTH<TAB>NAME" when a
# phase starts and "end<TAB>ID<TAB>SECONDS<TAB>STATUS" when it ends; ID is
# the phase's rank, so the table keeps the order in which phases started.

if [[ -z "${LAMBDAHOST_PHASE_LOG:-}" ]]; then
	LAMBDAHOST_PHASE_LOG=$(mktemp "${TMPDIR:-/tmp}/lambdahost-phases.XXXXXX")
	export LAMBDAHOST_PHASE_LOG
	_phase_owner_start=$EPOCHREALTIME
	trap _phase_table EXIT
fi
# The depth of this script's phases: 0, or one below the phase that ran it.
_phase_depth=${LAMBDAHOST_PHASE_DEPTH:-0}

# phase NAME CMD [ARGS...] runs CMD (a command or a shell function) and
# returns its status.
phase() {
	local name=$1 id start status=0 secs
	shift
	id=$(_phase_next_id)
	printf 'start\t%s\t%s\t%s\n' "$id" "$_phase_depth" "$name" >>"$LAMBDAHOST_PHASE_LOG"
	echo "=== phase $name"
	start=$EPOCHREALTIME
	_phase_depth=$((_phase_depth + 1))
	LAMBDAHOST_PHASE_DEPTH=$_phase_depth "$@" || status=$?
	_phase_depth=$((_phase_depth - 1))
	secs=$(_phase_since "$start")
	printf 'end\t%s\t%s\t%s\n' "$id" "$secs" "$status" >>"$LAMBDAHOST_PHASE_LOG"
	if ((status == 0)); then
		echo "--- phase $name: ${secs}s"
	else
		echo "--- phase $name: ${secs}s, FAILED (exit status $status)"
	fi
	return "$status"
}

# phase_record DEPTH SECONDS STATUS NAME records a phase timed elsewhere,
# DEPTH levels under the current one (1: a child of the running phase).
phase_record() {
	local id
	id=$(_phase_next_id)
	printf 'start\t%s\t%s\t%s\n' "$id" "$((_phase_depth + $1 - 1))" "$4" >>"$LAMBDAHOST_PHASE_LOG"
	printf 'end\t%s\t%s\t%s\n' "$id" "$2" "$3" >>"$LAMBDAHOST_PHASE_LOG"
}

_phase_next_id() { grep -c '^start' "$LAMBDAHOST_PHASE_LOG" || true; }

# _phase_since START prints the seconds since START (an EPOCHREALTIME).
_phase_since() { awk -v a="$1" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.1f", b - a }'; }

_phase_table() {
	local status=$?
	local total
	total=$(_phase_since "$_phase_owner_start")
	echo
	echo "===== wall time per phase (seconds) ====="
	awk -F'\t' -v total="$total" '
		$1 == "start" { order[++n] = $2; depth[$2] = $3; name[$2] = $4 }
		$1 == "end" { secs[$2] = $3; st[$2] = $4 }
		END {
			for (i = 1; i <= n; i++) {
				id = order[i]
				pad = ""
				for (d = 0; d < depth[id]; d++) pad = pad "    "
				s = (id in secs) ? sprintf("%8.1f", secs[id]) : "     n/a"
				note = ""
				if (!(id in secs)) note = "   (interrupted)"
				else if (st[id] != "0" && st[id] != "") note = "   FAILED"
				printf "%s  %s%s%s\n", s, pad, name[id], note
			}
			printf "%8.1f  total\n", total
		}' "$LAMBDAHOST_PHASE_LOG"
	rm -f "$LAMBDAHOST_PHASE_LOG"
	exit "$status"
}
