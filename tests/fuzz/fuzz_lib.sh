# fuzz_lib.sh: shared by smoke.sh and run_long.sh (sourced).
#   fuzz_manifest BUILD_DIR      -> the path of the fuzz build's target list (or fails)
#   fuzz_run NAME BIN SEEDS SECONDS WORK_CORPUS ARTIFACT_DIR LOG
#                                -> runs libFuzzer, prints one summary line; exit status 0 when
#                                   nothing was found (no crash, leak, timeout or OOM)
FUZZ_TIMEOUT=${FUZZ_TIMEOUT:-20}   # an input slower than this (seconds) is a hang
FUZZ_RSS_MB=${FUZZ_RSS_MB:-2048}   # more memory than this (MB) is a failure; so is one malloc of it

fuzz_run() {
  local name=$1 bin=$2 seeds=$3 secs=$4 work=$5 art=$6 log=$7
  mkdir -p "$work" "$art"
  local rc=0
  # the working corpus first: libFuzzer adds what it finds there, the committed seeds stay as
  # they are; -use_value_profile helps with the magic numbers of binary formats
  "$bin" "$work" "$seeds" -max_total_time="$secs" -timeout="$FUZZ_TIMEOUT" \
    -rss_limit_mb="$FUZZ_RSS_MB" -malloc_limit_mb="$FUZZ_RSS_MB" -artifact_prefix="$art/" \
    -print_final_stats=1 -use_value_profile=1 -close_fd_mask=1 >"$log" 2>&1 || rc=$?
  local runs eps cov ft corp
  runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
  eps=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -1)
  cov=$(grep -Eo 'cov: [0-9]+' "$log" | tail -1 | cut -d' ' -f2)
  ft=$(grep -Eo 'ft: [0-9]+' "$log" | tail -1 | cut -d' ' -f2)
  corp=$(grep -Eo 'corp: [0-9]+/[0-9]+[a-zA-Z]*' "$log" | tail -1 | cut -d' ' -f2)
  local found
  found=$(ls -A "$art" 2>/dev/null | tr '\n' ' ')
  printf '%-22s %5ss  %10s execs  %7s exec/s  cov %-6s ft %-6s corpus %-10s %s\n' \
    "$name" "$secs" "${runs:-?}" "${eps:-?}" "${cov:-?}" "${ft:-?}" "${corp:-?}" \
    "$([ "$rc" = 0 ] && [ -z "$found" ] && echo ok || echo "FAILED (exit $rc) ${found}")"
  if [ "$rc" != 0 ] || [ -n "$found" ]; then
    grep -E 'ERROR|SUMMARY|invariant failed|Test unit written|==[0-9]+==' "$log" | head -20 >&2
    echo "  log: $log; inputs: $art (replay: $bin INPUT)" >&2
    return 1
  fi
  return 0
}
