-- An error object whose __tostring never returns, for the host to format.
error(setmetatable({}, { __tostring = function() while true do end end }))
