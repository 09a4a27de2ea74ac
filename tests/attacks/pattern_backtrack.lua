-- Backtracking in Lua's C matcher, where no instruction hook runs.
return string.find(("a"):rep(160), ".-.-.-.-.-.-b")
