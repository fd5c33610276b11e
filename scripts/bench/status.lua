-- GET /api/payments/{invoiceId}/status: round-robin over the seeded pending invoices.
dofile(os.getenv("BENCH_LUA") .. "/common.lua")

function init(args)
  local rows = read_rows(os.getenv("BENCH_INVOICES"))
  reqs = {}
  for _, r in ipairs(rows) do
    table.insert(reqs, wrk.format("GET", "/api/payments/" .. r[4] .. "/status",
      { ["Authorization"] = "Bearer " .. r[2] }))
  end
  i = id
end

function request()
  i = i + 1
  return reqs[(i % #reqs) + 1]
end
