#!/usr/bin/env bash
# Prepare this machine for the project: the one step that `npm test`, `npm run up:local` and
# `.ci/run` all call first (`npm run setup` runs it alone). The steps are listed in
# scripts/prepare.steps, one line each (what it runs, what it needs first, who needs it).
#
#   scripts/prepare.sh                every step
#   scripts/prepare.sh --for up       the steps `npm run up:local` needs (FOR has `up`)
#   scripts/prepare.sh STEP...        these steps (and what they need)
#   scripts/prepare.sh --list         the steps, in order, and exit
#
# Independent steps run at the same time (cpu steps one at a time, see prepare.steps); each
# logs to $SALTPIPE_CACHE/logs/prepare/STEP.log, and this script prints one line per step
# event instead of their interleaved output: started, done in N s (with the step's last
# line), failed (with the tail of its log), or not run because a step it needs failed.
# Every step caches by version under $SALTPIPE_CACHE, so a warm run takes a few seconds.
# Exit status: 0 when every selected step is done, 1 otherwise.
#
# Environment: SALTPIPE_PREPARE_STEPS (another steps file), SALTPIPE_PREPARE_CPU_JOBS
# (cpu steps at once, default 1), SALTPIPE_PREPARE_TAIL (log lines shown on failure, 20).
set -uo pipefail
# shellcheck source=scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

STEPS_FILE="${SALTPIPE_PREPARE_STEPS:-$SALTPIPE_ROOT/scripts/prepare.steps}"
LOGS="$SALTPIPE_CACHE/logs/prepare"
CPU_JOBS="${SALTPIPE_PREPARE_CPU_JOBS:-1}"
TAIL="${SALTPIPE_PREPARE_TAIL:-20}"

declare -A needs_of=() for_of=() class_of=() command_of=()
order=()
line_no=0
while IFS= read -r line || [[ -n $line ]]; do
  line_no=$((line_no + 1))
  [[ $line =~ ^[[:space:]]*(#|$) ]] && continue
  read -r name needs for class command <<<"$line"
  where="$STEPS_FILE:$line_no"
  [[ $name =~ ^[a-z0-9][a-z0-9-]*$ ]] || die "$where: step name '$name' (lowercase letters, digits, -)"
  [[ -z ${command_of[$name]+x} ]] || die "$where: step '$name' is listed twice"
  [[ $class == io || $class == cpu ]] || die "$where: step '$name': CLASS is '$class' (io or cpu)"
  [[ $for =~ ^(up|test)(,(up|test))*$ ]] || die "$where: step '$name': FOR is '$for' (up, test or up,test)"
  [[ -n $command ]] || die "$where: step '$name' has no COMMAND"
  [[ $needs == - ]] && needs=""
  needs_of[$name]="${needs//,/ }"
  for_of[$name]="$for" class_of[$name]="$class" command_of[$name]="$command"
  order+=("$name")
done <"$STEPS_FILE"
for name in "${order[@]}"; do
  for need in ${needs_of[$name]}; do
    [[ -n ${command_of[$need]+x} ]] || die "$STEPS_FILE: step '$name' needs '$need', which is not a step"
  done
done

# Which steps: the ones asked for (by name or by --for), then everything they need.
declare -A selected=()
select_step() {
  [[ -n ${selected[$1]+x} ]] && return
  selected[$1]=1
  local need
  for need in ${needs_of[$1]}; do select_step "$need"; done
}
group=""
names=()
while (($#)); do
  case "$1" in
    --for) group="${2:-}"; [[ $group == up || $group == test ]] || die "--for takes up or test"; shift 2 ;;
    --list)
      for name in "${order[@]}"; do
        printf '%-18s needs %-28s for %-8s %s\n' "$name" "${needs_of[$name]:--}" "${for_of[$name]}" "${class_of[$name]}"
      done
      exit 0
      ;;
    -h | --help) sed -n '2,19p' "$0"; exit 0 ;;
    -*) die "unknown option $1 (try --help)" ;;
    *) [[ -n ${command_of[$1]+x} ]] || die "unknown step '$1' (steps: ${order[*]})"; names+=("$1"); shift ;;
  esac
done
for name in "${order[@]}"; do
  if ((${#names[@]})); then
    [[ " ${names[*]} " == *" $name "* ]] && select_step "$name"
  elif [[ -z $group || ",${for_of[$name]}," == *",$group,"* ]]; then
    select_step "$name"
  fi
done

mkdir -p "$LOGS"
declare -A state=() started_at=() pid_of=() step_of_pid=()
for name in "${order[@]}"; do [[ -n ${selected[$name]+x} ]] && state[$name]=pending; done

now_ms() { echo $((${EPOCHREALTIME/./} / 1000)); }
seconds_since() { # START_MS → "1.2" (tenths)
  local ms=$(($(now_ms) - $1))
  printf '%d.%d' $((ms / 1000)) $((ms % 1000 / 100))
}
say() { printf '[%s] prepare: %-18s %s\n' "$(date +%H:%M:%S)" "$1" "$2" >&2; }

start_step() {
  local name="$1" log="$LOGS/$1.log"
  started_at[$name]=$(now_ms)
  # Its own session (setsid), so an interrupt can stop the step with everything it started.
  # `times` records the CPU its processes used (.cpu): wall time alone depends on the load.
  # io steps run at nice 10: when the CPU is short, the cpu step (the critical path) gets it.
  local nice=0
  [[ ${class_of[$name]} == io ]] && nice=10
  # shellcheck disable=SC2016 # the second line is for the inner bash: expanded there, not here
  (cd "$SALTPIPE_ROOT" && exec setsid nice -n "$nice" bash -c "${command_of[$name]}"$'\n''rc=$?; times >"$0"; exit $rc' "$LOGS/$name.cpu") \
    >"$log" 2>&1 </dev/null &
  pid_of[$name]=$!
  step_of_pid[$!]="$name"
  state[$name]=running
  say "$name" "started"
}

# The step's last words, without the timestamp our scripts put in front.
last_line() { grep -v '^[[:space:]]*$' "$1" | tail -n 1 | sed -E 's/^\[[0-9:]+\] //' | cut -c1-110; }

# " (cpu N s)": user + system time of the step's processes, from `times` (2nd line: children).
cpu_used() {
  [[ -s $LOGS/$1.cpu ]] || return 0
  sed -n 2p "$LOGS/$1.cpu" | awk '{
    n = 0
    for (i = 1; i <= 2; i++) { split($i, p, "m"); sub("s", "", p[2]); n += p[1] * 60 + p[2] }
    if (n >= 1) printf " (cpu %.0f s)", n }'
}

finish_step() {
  local name="$1" rc="$2" log="$LOGS/$1.log" took
  took="$(seconds_since "${started_at[$name]}")"
  if ((rc == 0)); then
    state[$name]="done"
    say "$name" "done in $took s$(cpu_used "$name"): $(last_line "$log")"
  else
    state[$name]=failed
    say "$name" "FAILED after $took s (exit $rc); last lines of $log:"
    tail -n "$TAIL" "$log" | sed 's/^/      | /' >&2
  fi
}

stop_all() {
  local name
  for name in "${!pid_of[@]}"; do
    [[ ${state[$name]} == running ]] && kill -TERM -- "-${pid_of[$name]}" 2>/dev/null
  done
  say "interrupted" "stopped the running steps"
  exit 130
}
trap stop_all INT TERM

# Start every pending step whose needs are done; mark the ones whose needs failed. Repeats
# until a pass changes nothing, so the order of lines in the steps file does not matter.
schedule() {
  local changed=1 name need ready blocked
  while ((changed)); do
    changed=0
    for name in "${order[@]}"; do
      [[ ${state[$name]:-} == pending ]] || continue
      ready=1 blocked=""
      for need in ${needs_of[$name]}; do
        case "${state[$need]}" in
          done) ;;
          failed | "not run") blocked="$need" ;;
          *) ready=0 ;;
        esac
      done
      if [[ -n $blocked ]]; then
        state[$name]="not run"
        changed=1
        say "$name" "not run: it needs $blocked, which did not succeed"
        continue
      fi
      ((ready)) || continue
      if [[ ${class_of[$name]} == cpu ]]; then
        ((cpu_running < CPU_JOBS)) || continue
        cpu_running=$((cpu_running + 1))
      fi
      start_step "$name"
      running=$((running + 1))
      changed=1
    done
  done
}

begin=$(now_ms)
chosen=()
for name in "${order[@]}"; do [[ -n ${state[$name]:-} ]] && chosen+=("$name"); done
log "prepare: ${#chosen[@]} steps (${chosen[*]}); logs in $LOGS"
while :; do
  running=0 cpu_running=0
  for name in "${!state[@]}"; do
    [[ ${state[$name]} == running ]] || continue
    running=$((running + 1))
    [[ ${class_of[$name]} == cpu ]] && cpu_running=$((cpu_running + 1))
  done
  schedule
  ((running)) || break
  wait -n -p pid
  rc=$?
  [[ -n ${pid:-} && -n ${step_of_pid[$pid]:-} ]] || continue
  finish_step "${step_of_pid[$pid]}" "$rc"
done

bad=()
for name in "${order[@]}"; do
  case "${state[$name]:-}" in
    "" | done) ;;
    pending) die "steps never became ready (a cycle in NEEDS of $STEPS_FILE?): $name" ;;
    *) bad+=("$name") ;;
  esac
done
if ((${#bad[@]})); then
  say "FAILED" "${bad[*]} (logs in $LOGS); fix the first failure above and run again"
  exit 1
fi
say "ready" "${#state[@]} steps in $(seconds_since "$begin") s"
