-- POST /api/payments/qris/create: round-robin over the merchants' API tokens, random amounts (so that
-- the unique codes of one amount are never exhausted).
dofile(os.getenv("BENCH_LUA") .. "/common.lua")

function init(args)
  merchants = read_rows(os.getenv("BENCH_MERCHANTS"))
  math.randomseed(os.time() * 100 + id)
  i = id
end

function request()
  i = i + 1
  local m = merchants[(i % #merchants) + 1]
  local body = string.format('{"amount":%d,"merchant_order_id":"bench-%d-%d"}', math.random(1000, 5000000), id, i)
  return wrk.format("POST", "/api/payments/qris/create",
    { ["Authorization"] = "Bearer " .. m[2], ["Content-Type"] = "application/json" }, body)
end
