-- wrk: each request checks a random name from the generated pool (bench/fastdns.py's bench_names),
-- and every response's status is counted.  Arguments after `--`: pool size, name prefix.
dofile(debug.getinfo(1, "S").source:sub(2):match("(.*/)") .. "report.lua")

local suffixes = {"com", "org", "net", "de", "co.uk"}
local pool, prefix = 20000, "load-"
statuses = {}

function init(args)
  pool = tonumber(args[1]) or pool
  prefix = args[2] or prefix
  math.randomseed(os.time() * 97 + (id or 0))
end

function request()
  local number = math.random(0, pool - 1)
  local name = string.format("%s%06d.%s", prefix, number, suffixes[number % #suffixes + 1])
  return wrk.format("GET", "/api/v1/check?domain=" .. name)
end

function response(status, headers, body)
  statuses[status] = (statuses[status] or 0) + 1
end
