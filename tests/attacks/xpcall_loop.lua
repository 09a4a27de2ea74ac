-- The message handler loops too; neither may outlive the call.
while true do xpcall(function() while true do end end, function() while true do end end) end
