-- A small describe / it / expect runner for plugin tests (`hubforce plugin test`).
-- Results are collected in __results; failures keep the file:line of the failing line.
local results = {}
local stack = {}

local function where(level)
  local info = debug.traceback("", level)
  for line in info:gmatch("[^\n]+") do
    local loc = line:match("^%s*([^:]+%.lua:%d+):")
    if loc and not loc:find("hubforce/runner.lua", 1, true) then return loc end
  end
  return "?"
end

local function deep_equal(a, b)
  if a == b then return true end
  if type(a) ~= "table" or type(b) ~= "table" then return false end
  for k, v in pairs(a) do if not deep_equal(v, b[k]) then return false end end
  for k in pairs(b) do if a[k] == nil then return false end end
  return true
end

local function show(v)
  if type(v) == "table" then
    local ok, s = pcall(json.encode, v)
    if ok then return s end
  end
  return tostring(v)
end

local function fail(msg) error({ __expect = true, message = msg, at = where(4) }, 0) end

--- expect(value).to_be(x), .to_equal(x), .to_be_truthy(), .to_be_falsy(), .to_be_nil(),
--- .to_match(pattern), .to_contain(item), .to_fail(pattern?) — dot or colon calls both work.
function expect(v)
  local e = {}
  local function method(f)
    return function(first, ...)
      if first == e then return f(...) end
      return f(first, ...)
    end
  end
  e.to_be = method(function(want) if v ~= want then fail(("expected %s, got %s"):format(show(want), show(v))) end return e end)
  e.to_equal = method(function(want) if not deep_equal(v, want) then fail(("expected %s, got %s"):format(show(want), show(v))) end return e end)
  e.to_be_truthy = method(function() if not v or v == json.null then fail(("expected a true value, got %s"):format(show(v))) end return e end)
  e.to_be_falsy = method(function() if v and v ~= json.null then fail(("expected a false value, got %s"):format(show(v))) end return e end)
  e.to_be_nil = method(function() if v ~= nil and v ~= json.null then fail(("expected nil, got %s"):format(show(v))) end return e end)
  e.to_match = method(function(pattern)
    if type(v) ~= "string" or not v:match(pattern) then fail(("expected %s to match %q"):format(show(v), pattern)) end
    return e
  end)
  e.to_contain = method(function(item)
    if type(v) == "string" then
      if not v:find(item, 1, true) then fail(("expected %s to contain %s"):format(show(v), show(item))) end
      return e
    end
    for _, x in ipairs(v or {}) do if deep_equal(x, item) then return e end end
    fail(("expected %s to contain %s"):format(show(v), show(item)))
  end)
  e.to_fail = method(function(pattern)
    local ok, err = pcall(v)
    if ok then fail("expected the function to fail") end
    if pattern and not tostring(err):match(pattern) then fail(("expected the error to match %q, got %s"):format(pattern, tostring(err))) end
    return e
  end)
  return e
end

function describe(name, body)
  stack[#stack + 1] = name
  body()
  stack[#stack] = nil
end

function it(name, body)
  local full = table.concat(stack, " › ") .. (#stack > 0 and " › " or "") .. name
  local ok, err = pcall(body)
  if ok then
    results[#results + 1] = { name = full, ok = true }
  elseif type(err) == "table" and err.__expect then
    results[#results + 1] = { name = full, ok = false, message = err.message, at = err.at }
  else
    local text = tostring(err)
    results[#results + 1] = { name = full, ok = false, message = text, at = text:match("^([^:]+%.lua:%d+):") or "?" }
  end
end

function __results() return results end
