-- The DiffQAS candidate pool (arXiv 2505.09653): 12 candidates =
--   Hadamard layer {yes, no} x entangler {linear CNOT chain, CNOT ring} x rotation {RX, RY, RZ}.
--
-- Each candidate is {name = "...", layer = function(circuit, names, nqubits, layer)} where the
-- function appends ONE layer to `circuit` (a qnn.Circuit on nqubits qubits). names[q + 1] is the
-- shared angle name of qubit q in this layer ("L<layer>_q<q>"): every candidate uses the same
-- names, so all candidates share one parameter vector Theta (one angle per qubit per layer).
-- `layer` (1-based) is given too, e.g. for a candidate that only puts Hadamards in layer 1.
--
-- Layer order: [H on every qubit] -> entangler -> rotation on every qubit.
--   chain: CNOT(0,1), CNOT(1,2), ..., CNOT(n-2,n-1);  ring: the chain plus CNOT(n-1,0) (n > 2).
-- Users add candidates by appending more entries (or passing their own list as `pool`).
local pool = {}

local function entangle(c, n, ring)
  for q = 0, n - 2 do c:cx(q, q + 1) end
  if ring and n > 2 then c:cx(n - 1, 0) end
end

for _, had in ipairs { true, false } do
  for _, ent in ipairs { "chain", "ring" } do
    for _, rot in ipairs { "rx", "ry", "rz" } do
      pool[#pool + 1] = {
        name = (had and "H" or "noH") .. "-" .. ent .. "-" .. rot:upper(),
        hadamard = had, entangler = ent, rotation = rot,
        layer = function(c, names, n)
          if had then for q = 0, n - 1 do c:h(q) end end
          entangle(c, n, ent == "ring")
          for q = 0, n - 1 do c[rot](c, q, names[q + 1]) end
        end,
      }
    end
  end
end

return pool
