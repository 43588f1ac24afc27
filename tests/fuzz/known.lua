-- What the fuzzer leaves out (tests/fuzz/fuzz.lua generates, tests/fuzz/rt.lua runs).
--
-- never: functions that run programs or scripts by design; random arguments would make the
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
  },
  known = {
    -- issue 12 item 1: use after free in the Grover trainer after its net is closed
    ["GroverTrainer:*"] = {unless_closed = "Net", why = "issue 12 #1"},
    -- issue 12 item 2: use after free in the quantum-train generator after its trainable net is closed
    ["QuantumTrain:*"] = {unless_closed = "Net", why = "issue 12 #2"},
    -- issue 12 item 5: hangs on unbounded sizes
    ["qnn.anneal.sample"] = {small = true, why = "issue 12 #5 (points = math.maxinteger)"},
    ["qnn.gridworld.vec"] = {small = true, why = "issue 12 #5 (n = 2^31)"},
  },
}
