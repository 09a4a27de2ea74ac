-- A finalizer runs whenever the collector likes, outside the call the host timed.
setmetatable({}, { __gc = function() while true do end end })
collectgarbage()
return true
