#!/usr/bin/env bash
# The 5 x 5 NAT matrix: for every ordered pair of lab NAT types, two lanrage-punch
# peers (side A behind the row's NAT, side B behind the column's) swap
# candidates and probe; a cell is "direct" when both ends found a direct path,
# with the time from each end's first ping to its first pong (the larger shown).
#
# Topology (tests/nat/lab.sh): lanrage-stun on 198.51.100.1/.2 in the internet
# namespace; side A hosts 1-5 and side B hosts 6-10, one per NAT type (none,
# full cone, restricted cone, port-restricted cone, symmetric), each behind its
# own router, so no pair shares a NAT:
#
#     A1..A5 --[NAT]--+                    +--[NAT]-- B6..B10
#                     +---- internet ------+
#                          lanrage-stun
#
# Usage: matrix.sh [--assert] [--parallel N] [--runs N] [--timeout SEC]
#                  LANRAGE LANRAGE_STUN LANRAGE_PUNCH
#   --assert    fail unless exactly the expected 22 pairs are direct (and with
#               them all 15 the seeds' matrix allows)
#   --parallel  pairs probing at once (default 25: all); 1 for clean timings
#   --runs      repetitions; cells show the median time (default 1)
set -euo pipefail
assert=0
parallel=25
runs=1
timeout=15
while [ $# -gt 3 ]; do
	case $1 in
	--assert) assert=1 ;;
	--parallel) parallel=$2 && shift ;;
	--runs) runs=$2 && shift ;;
	--timeout) timeout=$2 && shift ;;
	*) echo "matrix.sh: unknown option $1" >&2 && exit 2 ;;
	esac
	shift
done
lanrage=$1
lanrage_stun=$2
lanrage_punch=$3
here=$(dirname "$0")
source "$here/lab.sh"

lab_init
for i in 0 1 2 3 4; do
	lab_add_host $((i + 1)) "${LAB_TYPES[$i]}"
	lab_add_host $((i + 6)) "${LAB_TYPES[$i]}"
done
lab_start_our_stun "$(dirname "$lanrage_stun")" "$LAB_DIR/stun.log"
for k in $(seq 1 10); do
	(umask 077 && "$lanrage" genkey >"$LAB_DIR/key$k")
	"$lanrage" pubkey <"$LAB_DIR/key$k" >"$LAB_DIR/pub$k"
done

# One punch process; its PID goes to LAB_PIDS until reaped.
punch() { # run pair host peer port
	local run=$1 pair=$2 k=$3 peer=$4 port=$5
	lab_spawn "$(lab_host_ns "$k")" "$LAB_DIR/out.$run.$pair.$k" "$lanrage_punch" \
		--key "$LAB_DIR/key$k" --peer "$(cat "$LAB_DIR/pub$peer")" \
		--rendezvous "$LAB_DIR/rv.$run.$pair" --stun "$STUN_IP1:3478" --port "$port" \
		--timeout "$timeout"
}

# Waits for one pair's two processes and writes "direct ms" or "relay -".
reap() { # run pair pidA pidB
	local run=$1 pair=$2 i=$(($2 / 5)) j=$(($2 % 5)) a b ta tb
	lab_reap "$3"
	lab_reap "$4"
	a=$(grep '^{' "$LAB_DIR/out.$run.$pair.$((i + 1))" || true)
	b=$(grep '^{' "$LAB_DIR/out.$run.$pair.$((j + 6))" || true)
	if [ "$(jq -r .direct <<<"$a" 2>/dev/null)" = true ] &&
		[ "$(jq -r .direct <<<"$b" 2>/dev/null)" = true ]; then
		ta=$(jq -r .first_pong_ms <<<"$a")
		tb=$(jq -r .first_pong_ms <<<"$b")
		echo "direct $(awk -v a="$ta" -v b="$tb" 'BEGIN { print (a > b ? a : b) }')" \
			>"$LAB_DIR/res.$run.$pair"
	else
		echo "relay -" >"$LAB_DIR/res.$run.$pair"
	fi
}

active=()
for run in $(seq 1 "$runs"); do
	for pair in $(seq 0 24); do
		i=$((pair / 5))
		j=$((pair % 5))
		mkdir -p "$LAB_DIR/rv.$run.$pair"
		# A fresh port per pair and run: no NAT state left over from another probe.
		port=$((20000 + run * 100 + pair))
		punch "$run" "$pair" $((i + 1)) $((j + 6)) "$port"
		pa=$LAB_LAST_PID
		punch "$run" "$pair" $((j + 6)) $((i + 1)) "$port"
		active+=("$run:$pair:$pa:$LAB_LAST_PID")
		while [ ${#active[@]} -ge "$parallel" ]; do
			IFS=: read -r r p x y <<<"${active[0]}"
			reap "$r" "$p" "$x" "$y"
			active=("${active[@]:1}")
		done
	done
done
for entry in "${active[@]}"; do
	IFS=: read -r r p x y <<<"$entry"
	reap "$r" "$p" "$x" "$y"
done

# The seeds' matrix (seed 000, Appendix A), and what we expect beyond it.
seeds_allow() { # i j
	case "$1$2" in
	00 | 01 | 02 | 03 | 04 | 10 | 20 | 30 | 40 | 11 | 12 | 13 | 21 | 31 | 22) return 0 ;;
	esac
	return 1
}
expect_direct() { # i j: all but port-restricted or symmetric facing symmetric
	case "$1$2" in
	34 | 43 | 44) return 1 ;;
	esac
	return 0
}

short=(open full_cone restricted port_restr symmetric)
printf '\nNAT matrix: direct path, and ms from first ping to first pong (slower end)\n'
printf 'rows: side A, columns: side B; * = the seeds'"'"' matrix allows direct; %d run(s)\n\n' "$runs"
printf '%-12s' ""
for j in 0 1 2 3 4; do printf '%-15s' "${short[$j]}"; done
printf '\n'
direct=0
seeds=0
seeds_direct=0
bad=()
for i in 0 1 2 3 4; do
	printf '%-12s' "${short[$i]}"
	for j in 0 1 2 3 4; do
		pair=$((i * 5 + j))
		times=()
		ok=0
		for run in $(seq 1 "$runs"); do
			read -r what ms <"$LAB_DIR/res.$run.$pair"
			if [ "$what" = direct ]; then
				ok=$((ok + 1))
				times+=("$ms")
			fi
		done
		mark=" "
		seeds_allow $i $j && mark="*" && seeds=$((seeds + 1))
		if [ "$ok" -eq "$runs" ]; then
			median=$(printf '%s\n' "${times[@]}" | sort -g | awk '{ t[NR] = $1 } END { print t[int((NR + 1) / 2)] }')
			cell=$(printf 'direct %.0fms' "$median")
			[ "$(awk -v m="$median" 'BEGIN { print (m < 1) }')" = 1 ] && cell=$(printf 'direct %.1fms' "$median")
			direct=$((direct + 1))
			seeds_allow $i $j && seeds_direct=$((seeds_direct + 1))
			expect_direct $i $j || bad+=("${LAB_TYPES[$i]} x ${LAB_TYPES[$j]}: direct, expected not")
		elif [ "$ok" -eq 0 ]; then
			cell="relay"
			expect_direct $i $j && bad+=("${LAB_TYPES[$i]} x ${LAB_TYPES[$j]}: no direct path")
		else
			cell="direct $ok/$runs"
			bad+=("${LAB_TYPES[$i]} x ${LAB_TYPES[$j]}: direct in only $ok of $runs runs")
		fi
		printf '%-15s' "$cell$mark"
	done
	printf '\n'
done
printf '\nseeds'"'"' matrix: %d/%d of its direct pairs reached directly\n' "$seeds_direct" "$seeds"
printf 'direct: %d/25\n' "$direct"

if [ "$assert" -eq 1 ]; then
	[ ${#bad[@]} -eq 0 ] || lab_fail "$(printf '%s; ' "${bad[@]}")"
	[ "$seeds_direct" -eq 15 ] || lab_fail "only $seeds_direct of the seeds' 15 direct pairs"
	[ "$direct" -eq 22 ] || lab_fail "direct: $direct/25, expected 22"
	echo "ok"
fi
