-- A few hundred bytes in Lua, 2^30 values as JSON.
local t = { 1 }
for _ = 1, 30 do t = { a = t, b = t } end
return json.encode(t)
