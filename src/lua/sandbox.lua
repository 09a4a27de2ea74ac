-- The sandbox's guards, run once in every plugin, script and REPL state before any of their
-- code. Each replaces a standard function that could outrun the clock or the host:
-- * pcall, xpcall, coroutine.resume/close hand a stopped call's failure on (a time limit or
--   Ctrl-C that Lua code could catch would be no limit);
-- * string.find/match/gmatch/gsub match in Rust under the clock (Lua's C matcher backtracks
--   where no hook reaches);
-- * string.rep, table.move/insert/remove cannot spin in C on an empty string, a huge range
--   or a lying __len;
-- * setmetatable refuses __gc: a finalizer runs whenever the collector likes, outside any
--   call the host timed.
local raw = ...

local error, select, type, rawget = error, select, type, rawget
local tointeger, maxinteger, min, max = math.tointeger, math.maxinteger, math.min, math.max
local concat = table.concat
local tripped, stop_message = raw.tripped, raw.stop_message

local function pass(...)
  if tripped() then error(stop_message(), 0) end
  return ...
end

-- The originals are kept under their own names: Lua names a function in its argument
-- errors by the name it was called by ("bad argument #2 to 'setmetatable'").
local G = _G
local pcall, xpcall, setmetatable = pcall, xpcall, setmetatable
local resume, close = coroutine.resume, coroutine.close
G.pcall = function(...) return pass(pcall(...)) end
-- An error raised by the clock leaves Lua's hooks off until it is caught, so a message
-- handler would run beyond the clock's reach: a stopped call's handler is not called.
G.xpcall = function(f, msgh, ...)
  if type(msgh) ~= "function" then return pass(xpcall(f, msgh, ...)) end
  local function handler(...)
    if tripped() then return (...) end
    return msgh(...)
  end
  return pass(xpcall(f, handler, ...))
end
coroutine.resume = function(...) return pass(resume(...)) end
coroutine.close = function(...) return pass(close(...)) end

-- A real function's error is raised again at the line that called the guard, naming the
-- function as that line called it (Lua would name the guard's line, and '?'):
-- `return at_caller("move", move, ...)` from a guard.
local function relevel(name, ok, ...)
  if ok then return ... end
  local e = ...
  if type(e) == "string" then
    e = e:gsub("^hubforce/sandbox:%d+: ", ""):gsub("^(bad argument #%d+ to )'%?'", "%1'" .. name .. "'")
  end
  error(e, 2)
end
local function at_caller(name, f, ...) return relevel(name, pcall(f, ...)) end

G.setmetatable = function(t, mt)
  if type(mt) == "table" and rawget(mt, "__gc") ~= nil then
    error("__gc finalizers are not available to plugins (the host runs plugin code only inside its calls)", 2)
  end
  return at_caller("setmetatable", setmetatable, t, mt)
end

-- Raw functions answer (true, results...) or (false, message[, located]); the message is
-- raised at the line that called the string function, as Lua's own errors are (`level`
-- counts from the caller of unwrap; a tail call leaves no frame of its own), unless it names
-- its line already (a stop).
local function unwrap(level, ok, ...)
  if ok then return ... end
  local message, located = ...
  error(message, located and 0 or level + 1)
end

local raw_find, raw_match, raw_gsub_text = raw.find, raw.match, raw.gsub_text
local subject_args, scan = raw.subject_args, raw.scan

string.find = function(...) return unwrap(1, raw_find(...)) end
string.match = function(...) return unwrap(1, raw_match(...)) end

string.gmatch = function(s, p, init)
  local src, pat, pos = unwrap(2, subject_args("gmatch", s, p, init))
  local last
  local function step(ok, start, stop, ...)
    if not ok then error(start, stop and 0 or 2) end
    if start == nil then return nil end
    pos, last = stop, stop
    return ...
  end
  return function() return step(scan(src, pat, pos, last, false, false)) end
end

local function gsub_call(s, p, repl, n)
  local src, pat, limit = unwrap(2, subject_args("gsub", s, p, n))
  local anchored = pat:byte(1) == 94 -- '^'
  if anchored then pat = pat:sub(2) end
  local by_table = type(repl) == "table"
  local out, pos, last, count, changed = {}, 0, nil, 0, false
  local function replace(ok, start, stop, ...)
    if not ok then error(start, stop and 0 or 3) end
    if start == nil then return false end
    out[#out + 1] = src:sub(pos + 1, start)
    local v
    if by_table then v = repl[(...)] else v = repl(...) end
    if not v then
      out[#out + 1] = src:sub(start + 1, stop)
    elseif type(v) == "string" or type(v) == "number" then
      out[#out + 1] = v
      changed = true
    else
      error("invalid replacement value (a " .. type(v) .. ")", 3)
    end
    count, pos, last = count + 1, stop, stop
    return true
  end
  while count < limit do
    if not replace(scan(src, pat, pos, last, anchored, by_table)) or anchored then break end
  end
  if not changed then return s, count end
  out[#out + 1] = src:sub(pos + 1)
  return concat(out), count
end

string.gsub = function(s, p, repl, n)
  local tr = type(repl)
  if tr == "function" or tr == "table" then return gsub_call(s, p, repl, n) end
  if tr ~= "string" and tr ~= "number" then
    error(("bad argument #3 to 'gsub' (string/function/table expected, got %s)"):format(
      select("#", s, p, repl) < 3 and "no value" or tr), 2)
  end
  return unwrap(1, raw_gsub_text(s, p, repl, n))
end

local rep = string.rep
string.rep = function(s, n, sep)
  -- An empty result of any length is a loop of n empty copies in C.
  local count = tointeger(n)
  if count and count > 1 and type(s) == "string" and #s == 0
      and (sep == nil or (type(sep) == "string" and #sep == 0)) then
    return at_caller("rep", rep, s, 1, sep)
  end
  return at_caller("rep", rep, s, n, sep)
end

-- table.move copies element by element in C: a long range is moved in chunks, so the clock
-- is looked at between them. Short moves and every error are the real function's own.
local CHUNK = 1 << 14
local move = table.move
table.move = function(a1, f, e, t, a2)
  local fi, ei, ti = tointeger(f), tointeger(e), tointeger(t)
  if not (fi and ei and ti) or ei < fi or not (fi > 0 or ei < maxinteger + fi)
      or ei - fi < CHUNK or ti > maxinteger - (ei - fi) then
    return at_caller("move", move, a1, f, e, t, a2)
  end
  local dest = a2
  if dest == nil then dest = a1 end
  if ti > fi and ti <= ei and (a2 == nil or a1 == a2) then
    local hi = ei
    while hi >= fi do
      local lo = max(fi, hi - CHUNK + 1)
      move(a1, lo, hi, ti + (lo - fi), dest)
      hi = lo - 1
    end
  else
    local lo = fi
    while lo <= ei do
      local hi = min(ei, lo + CHUNK - 1)
      move(a1, lo, hi, ti + (lo - fi), dest)
      lo = hi + 1
    end
  end
  return dest
end

-- table.insert and table.remove shift #t elements in C; a __len may say anything, so a
-- table with a metatable is shifted here, in Lua, where the clock reaches.
local insert, remove = table.insert, table.remove
local getmetatable = getmetatable

table.insert = function(t, ...)
  if getmetatable(t) == nil then return at_caller("insert", insert, t, ...) end
  local n = select("#", ...)
  local e = #t + 1
  if n == 1 then
    t[e] = ...
    return
  elseif n ~= 2 then
    error("wrong number of arguments to 'insert'", 2)
  end
  local pos, v = ...
  local p = tointeger(pos)
  if p == nil then
    error("bad argument #2 to 'insert' (number expected, got " .. type(pos) .. ")", 2)
  end
  if p < 1 or p > e then error("bad argument #2 to 'insert' (position out of bounds)", 2) end
  for i = e, p + 1, -1 do t[i] = t[i - 1] end
  t[p] = v
end

table.remove = function(t, pos)
  if getmetatable(t) == nil then return at_caller("remove", remove, t, pos) end
  local size = #t
  local p = size
  if pos ~= nil then
    p = tointeger(pos)
    if p == nil then
      error("bad argument #2 to 'remove' (number expected, got " .. type(pos) .. ")", 2)
    end
  end
  if p ~= size and (p < 1 or p > size + 1) then
    error("bad argument #2 to 'remove' (position out of bounds)", 2)
  end
  local v = t[p]
  while p < size do
    t[p] = t[p + 1]
    p = p + 1
  end
  t[p] = nil
  return v
end
