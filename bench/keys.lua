-- Durable writes: signing-key create + delete pairs.
--
-- Run with as many threads as connections (wrk -t N -c N): each thread then
-- drives one connection, so its requests and responses alternate and it can
-- keep a per-connection state.  Thread i owns endpoint i, read from the file
-- BENCH_ENDPOINTS_FILE (one ep_ id a line), which keeps one permanent key.
-- Each thread repeats
--   POST   /v1/endpoints/{ep}/signing-keys        -> 201 (1 key -> 2 keys)
--   DELETE /v1/endpoints/{ep}/signing-keys/{new}  -> 204 (2 keys -> 1 key)
-- so the 2-key limit and the last-key rule always hold.  A run that stops
-- between the two leaves an endpoint with 2 keys, so each thread first lists
-- its endpoint's keys (one GET per connection and run) and deletes the
-- newest if there are 2.  Every create and delete is one durable transaction
-- (the endpoint record with its keys, and an audit event); the figures
-- reported as "writes" count only the 201 and 204 answers.
local dir = os.getenv("BENCH_LUA_DIR") or "bench"
local token = os.getenv("BENCH_TOKEN")

local counter = 0
bench_threads = {}
function setup(thread)
  counter = counter + 1
  thread:set("idx", counter)
  thread:set("writes", 0)
  table.insert(bench_threads, thread)
end

local ep, base, pending, mode
local headers = { ["Authorization"] = "Bearer " .. token }
local post_headers = { ["Authorization"] = "Bearer " .. token,
                       ["Content-Type"] = "application/json" }

function init(args)
  local i = 0
  for line in io.lines(os.getenv("BENCH_ENDPOINTS_FILE")) do
    i = i + 1
    if i == idx then ep = line end
  end
  assert(ep, "no endpoint for thread " .. tostring(idx))
  base = "/v1/endpoints/" .. ep .. "/signing-keys"
  mode = "list"
end

function request()
  if mode == "delete" then
    return wrk.format("DELETE", base .. "/" .. pending, headers, nil)
  elseif mode == "list" then
    return wrk.format("GET", base, headers, nil)
  end
  return wrk.format("POST", base, post_headers, "{}")
end

function response(status, hdrs, body)
  if status == 201 or status == 204 then
    writes = writes + 1
  end
  if mode == "create" then
    if status == 201 then
      pending = string.match(body, '"id"%s*:%s*"(sk_%x+)"')
      mode = pending and "delete" or "create"
    elseif status == 409 then
      mode = "list"            -- already 2 keys: find the newest
    end
  elseif mode == "delete" then
    mode = "create"            -- 204, or 404/409: start over
  else                         -- list: delete the newest key if 2
    local last, n = nil, 0
    for id in string.gmatch(body, '"id"%s*:%s*"(sk_%x+)"') do
      last = id
      n = n + 1
    end
    if n >= 2 then
      pending = last
      mode = "delete"
    else
      mode = "create"
    end
  end
end

dofile(dir .. "/report.lua")
