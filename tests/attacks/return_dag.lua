-- The same, handed to the host as a result.
local t = { 1 }
for _ = 1, 30 do t = { a = t, b = t } end
return t
