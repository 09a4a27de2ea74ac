-- table.insert shifts #t elements in C, and __len says anything.
local t = setmetatable({}, { __len = function() return 1 << 50 end })
table.insert(t, 1, "x")
return true
