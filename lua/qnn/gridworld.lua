-- qnn.gridworld: a MiniGrid-style "Empty-NxN" grid world written for this project (no MiniGrid
-- code used; the rules follow MiniGrid's documented behaviour).
--
-- Grid: size x size cells including the outer wall (Empty-5x5: size 5, a 3x3 free room). The
-- agent starts at (1, 1) facing east; the goal is at (size-2, size-2). x grows east, y south.
-- Actions (7, 0-based as in MiniGrid; qnn passes 1-based action labels a+1):
--   0 turn left, 1 turn right, 2 forward, 3 pickup, 4 drop, 5 toggle, 6 done
-- (3..6 do nothing in an empty room). Stepping onto the goal ends the episode with reward
-- 1 - 0.9 * steps / max_steps; otherwise reward 0. max_steps = 4 * size^2 (100 for 5x5);
-- reaching it truncates the episode (reward 0).
-- Observation: the 7x7x3 egocentric view (agent at the bottom centre looking "up"), each cell
-- (object type, colour, state) with MiniGrid's codes: unseen 0, empty 1, wall 2, goal 8;
-- colours green 1 (goal), grey 5 (wall). Cells outside the grid are walls; cells hidden behind
-- walls are unseen (MiniGrid's visibility propagation). The flat vector has 147 values: entry
-- 3 * (7 * i + j) + c + 1 holds channel c of view column i (0 = left), row j (0 = farthest),
-- i.e. MiniGrid's image[i][j][c] order; values are divided by 10 when `scale` is true
-- (default) so they lie in [0, 1].
local qnn = require "qnn"
local M = {}
local doc = qnn.document

local DIRS = { [0] = { 1, 0 }, { 0, 1 }, { -1, 0 }, { 0, -1 } } -- east, south, west, north
local UNSEEN, EMPTY, WALL, GOAL = 0, 1, 2, 8
local GREEN, GREY = 1, 5
M.ACTIONS = { "left", "right", "forward", "pickup", "drop", "toggle", "done" }

local Env = {}
Env.__index = Env
Env.__qnntype = "GridWorld"

local function cell(env, x, y)
  local s = env.size
  if x < 0 or y < 0 or x >= s or y >= s then return WALL end
  if x == 0 or y == 0 or x == s - 1 or y == s - 1 then return WALL end
  if x == env.goal[1] and y == env.goal[2] then return GOAL end
  return EMPTY
end

local MAX_ENVS, MAX_STEPS = 65536, 1000000000

local function check_opts(where, opts)
  if opts == nil then return {} end
  if type(opts) ~= "table" then
    error(where .. ": opts must be a table {max_steps=, scale=}, got " .. type(opts), 3)
  end
  for k, v in pairs(opts) do
    if k == "max_steps" then
      if math.type(v) ~= "integer" or v < 1 or v > MAX_STEPS then
        error(string.format("%s: max_steps must be an integer in [1, %d], got %s", where,
                            MAX_STEPS, tostring(v)), 3)
      end
    elseif k == "scale" then
      if type(v) ~= "boolean" then error(where .. ": scale must be a boolean", 3) end
    else
      error(string.format("%s: unknown option %s (allowed: max_steps, scale)", where,
                          type(k) == "string" and "'" .. k .. "'" or tostring(k)), 3)
    end
  end
  return opts
end

function M.empty(size, opts)
  if math.type(size) ~= "integer" or size < 4 or size > 64 then
    error("qnn.gridworld.empty: size must be an integer in [4, 64], got " .. tostring(size), 2)
  end
  opts = check_opts("qnn.gridworld.empty", opts)
  local env = setmetatable({ size = size, max_steps = opts.max_steps or 4 * size * size,
    scale = opts.scale ~= false, goal = { size - 2, size - 2 } }, Env)
  env:reset()
  return env
end
doc(M.empty, "qnn.gridworld.empty", "qnn.gridworld.empty(size [, {max_steps=4*size^2, scale=true}]) -> env",
  "size: integer in [4, 64] (5 = MiniGrid-Empty-5x5); max_steps: integer in [1, 10^9].\nReturns an environment with env:reset() -> obs, " ..
  "env:step(action) -> obs, reward, done (action 1..7, 1-based: left, right, forward, pickup, " ..
  "drop, toggle, done), env:obs() -> table of 147 numbers, env:render() -> string.")

function Env:reset()
  self.x, self.y, self.dir, self.steps = 1, 1, 0, 0
  return self:obs()
end

-- 7x7 view: column i (0..6, left to right), row j (0..6, far to near); agent at (3, 6)
function Env:view()
  local d = DIRS[self.dir]
  local fx, fy = d[1], d[2]
  local rx, ry = -fy, fx -- right-hand direction
  local g = {}
  for j = 0, 6 do
    g[j] = {}
    local f = 6 - j
    for i = 0, 6 do
      local r = i - 3
      g[j][i] = cell(self, self.x + f * fx + r * rx, self.y + f * fy + r * ry)
    end
  end
  g[6][3] = EMPTY -- the agent's own cell
  -- visibility (MiniGrid's process_vis): walls block the view
  local vis = {}
  for j = 0, 6 do vis[j] = {} end
  vis[6][3] = true
  for j = 6, 0, -1 do
    for i = 0, 5 do
      if vis[j][i] and g[j][i] ~= WALL then
        vis[j][i + 1] = true
        if j > 0 then vis[j - 1][i + 1] = true; vis[j - 1][i] = true end
      end
    end
    for i = 6, 1, -1 do
      if vis[j][i] and g[j][i] ~= WALL then
        vis[j][i - 1] = true
        if j > 0 then vis[j - 1][i - 1] = true; vis[j - 1][i] = true end
      end
    end
  end
  return g, vis
end

function Env:obs()
  local g, vis = self:view()
  local o = {}
  local k = self.scale and 0.1 or 1
  for i = 0, 6 do
    for j = 0, 6 do
      local base = 3 * (i * 7 + j)
      local t = vis[j][i] and g[j][i] or UNSEEN
      local c = t == WALL and GREY or (t == GOAL and GREEN or 0)
      o[base + 1], o[base + 2], o[base + 3] = t * k, c * k, 0
    end
  end
  return o
end

function Env:step(a)
  if math.type(a) ~= "integer" or a < 1 or a > 7 then
    error("GridWorld:step: action must be an integer in [1, 7], got " .. tostring(a), 2)
  end
  self.steps = self.steps + 1
  local reward, done = 0, false
  if a == 1 then
    self.dir = (self.dir + 3) % 4
  elseif a == 2 then
    self.dir = (self.dir + 1) % 4
  elseif a == 3 then
    local d = DIRS[self.dir]
    local nx, ny = self.x + d[1], self.y + d[2]
    local c = cell(self, nx, ny)
    if c ~= WALL then self.x, self.y = nx, ny end
    if c == GOAL then
      done = true
      reward = 1 - 0.9 * (self.steps / self.max_steps)
    end
  end
  if self.steps >= self.max_steps then done = true end
  return self:obs(), reward, done
end

function Env:render()
  local arrows = { [0] = ">", "v", "<", "^" }
  local lines = {}
  for y = 0, self.size - 1 do
    local row = {}
    for x = 0, self.size - 1 do
      local c = cell(self, x, y)
      row[#row + 1] = (x == self.x and y == self.y) and arrows[self.dir] or (c == WALL and "#" or (c == GOAL and "G" or "."))
    end
    lines[#lines + 1] = table.concat(row)
  end
  return table.concat(lines, "\n")
end

--- vector of n environments with automatic reset
function M.vec(n, size, opts)
  if math.type(n) ~= "integer" or n < 1 or n > MAX_ENVS then
    error(string.format("qnn.gridworld.vec: n must be an integer in [1, %d], got %s", MAX_ENVS,
                        tostring(n)), 2)
  end
  if math.type(size) ~= "integer" or size < 4 or size > 64 then
    error("qnn.gridworld.vec: size must be an integer in [4, 64], got " .. tostring(size), 2)
  end
  check_opts("qnn.gridworld.vec", opts)
  local v = { envs = {}, n = n, ep_return = {}, ep_len = {}, finished = {} }
  for i = 1, n do
    v.envs[i] = M.empty(size, opts)
    v.ep_return[i], v.ep_len[i] = 0, 0
  end
  function v:obs_tensor()
    local rows = {}
    for i = 1, self.n do rows[i] = self.envs[i]:obs() end
    return qnn.tensor(rows)
  end
  -- actions: list of n actions (1..7). Returns rewards, dones (auto-reset) and appends finished
  -- episodes {return=, length=} to self.finished.
  function v:step(actions)
    local r, d = {}, {}
    for i = 1, self.n do
      local _, rew, done = self.envs[i]:step(actions[i])
      self.ep_return[i] = self.ep_return[i] + rew
      self.ep_len[i] = self.ep_len[i] + 1
      r[i], d[i] = rew, done
      if done then
        self.finished[#self.finished + 1] = { ret = self.ep_return[i], len = self.ep_len[i] }
        self.ep_return[i], self.ep_len[i] = 0, 0
        self.envs[i]:reset()
      end
    end
    return r, d
  end
  return v
end
doc(M.vec, "qnn.gridworld.vec", "qnn.gridworld.vec(n, size [, opts]) -> venv",
  "n: integer in [1, 65536]; size: integer in [4, 64]; opts: {max_steps = integer in [1, 10^9], " ..
  "scale = boolean}.\nn environments of qnn.gridworld.empty(size, opts) with automatic reset: venv:obs_tensor() -> " ..
  "n x 147 Tensor; venv:step(actions) -> rewards, dones; finished episodes are appended to " ..
  "venv.finished as {ret=, len=}.")

return M
