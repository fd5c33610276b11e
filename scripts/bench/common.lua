-- Shared by the bench scripts: reading the seed files, per-thread ids, and the result line that
-- scripts/bench/report.py parses.

threads = {}
local next_id = 0

function setup(thread)
  thread:set("id", next_id)
  next_id = next_id + 1
  table.insert(threads, thread)
end

-- Rows of a tab-separated file, each a table of fields.
function read_rows(path)
  local rows = {}
  for line in io.lines(path) do
    local fields = {}
    for field in string.gmatch(line, "[^\t]+") do
      table.insert(fields, field)
    end
    table.insert(rows, fields)
  end
  return rows
end

function done(summary, latency, requests)
  local errors = summary.errors
  local failed = errors.connect + errors.read + errors.write + errors.status + errors.timeout
  local paid, wrapped = 0, 0
  for _, thread in ipairs(threads) do
    paid = paid + (thread:get("paid") or 0)
    wrapped = wrapped + (thread:get("wrapped") or 0)
  end
  io.write(string.format(
    "RESULT requests=%d seconds=%.3f rps=%.1f p50_ms=%.3f p99_ms=%.3f errors=%d paid=%d wrapped=%d\n",
    summary.requests, summary.duration / 1e6, summary.requests / (summary.duration / 1e6),
    latency:percentile(50) / 1000, latency:percentile(99) / 1000, failed, paid, wrapped))
end
