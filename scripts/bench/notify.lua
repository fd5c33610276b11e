-- POST /api/webhook/payment: each request is a DANA notification for a different pending invoice, so
-- every request is a full notification-to-paid (parse, duplicate keys, match, paid transition, outbox
-- row, events). Threads take disjoint slices; a slice that runs out wraps around (those requests are
-- duplicates) and is counted, so the report can flag a run that was too long for the seed.
dofile(os.getenv("BENCH_LUA") .. "/common.lua")

function init(args)
  local rows = read_rows(os.getenv("BENCH_INVOICES"))
  local n = tonumber(os.getenv("BENCH_THREADS"))
  reqs = {}
  for k, r in ipairs(rows) do
    if (k - 1) % n == id then
      local body = string.format(
        '{"app":"com.dana.id","title":"DANA","message":"%s","device_id":"bench","notif_id":"%s"}',
        r[6], r[4])
      table.insert(reqs, wrk.format("POST", "/api/webhook/payment",
        { ["Authorization"] = "Bearer " .. r[3], ["Content-Type"] = "application/json" }, body))
    end
  end
  i = 0
  paid = 0
  wrapped = 0
end

function request()
  i = i + 1
  if i > #reqs then
    wrapped = wrapped + 1
    return reqs[((i - 1) % #reqs) + 1]
  end
  return reqs[i]
end

function response(status, headers, body)
  if status == 200 and string.find(body, '"success":true', 1, true) then
    paid = paid + 1
  end
end
