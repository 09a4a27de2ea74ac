-- A time limit that pcall could catch would be no limit.
while true do pcall(function() while true do end end) end
