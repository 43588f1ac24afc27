-- What the fuzzer leaves out (tests/fuzz/fuzz.lua generates, tests/fuzz/rt.lua runs).
--
-- never: functions that run programs or scripts, or end the process, by design; random arguments would make the
-- fuzzer execute arbitrary commands. Stays.
--
-- known: calls that trip bugs already filed (issue 12) and being fixed elsewhere. Skipped so the
-- fuzzer can find new bugs meanwhile; EMPTY THIS LIST once the fixes are merged. A key is a
-- function/method name or "Class:*" (every method and metamethod of Class). Values:
--   "reason"                           never call it
--   {small = true, why = ...}          call it only with small integer/number arguments
--   {unless_closed = "Net", why = ...} skip it once any Net of the program was closed, finalized,
--                                      dropped or overwritten (a borrowed object may be gone)
return {
  never = {
    ["qnn.sys.run"] = "starts programs",
    ["qnn.report.gnuplot"] = "runs a gnuplot script (gnuplot's ! and system run commands)",
    ["qnn.nq.gnuplot"] = "runs a gnuplot script",
    ["qnn.report.script_help"] = "ends the process by design (prints the running script's usage, exit 0)",
  },
  known = {
    -- empty: the issue-12 fixes (borrowed objects, size limits) are merged
  },
}
