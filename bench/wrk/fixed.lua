-- wrk: the URL on the command line, as fast as it goes; only the report at the end.
dofile(debug.getinfo(1, "S").source:sub(2):match("(.*/)") .. "report.lua")
