-- GET /healthz: the no-op baseline (no database, no auth).
dofile(os.getenv("BENCH_LUA") .. "/common.lua")

function init(args)
  req = wrk.format("GET", "/healthz")
end

function request()
  return req
end
