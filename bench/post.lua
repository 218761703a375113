-- POST a fixed JSON body read from the file BENCH_BODY_FILE, with the bench
-- API token: POST /v1/endpoints/{id}/sign (1 KiB payload) and
-- POST /v1/{workspace}/verify-token (an ES256 JWT).
local dir = os.getenv("BENCH_LUA_DIR") or "bench"
local f = assert(io.open(os.getenv("BENCH_BODY_FILE"), "rb"))
wrk.body = f:read("*a")
f:close()
wrk.method = "POST"
wrk.headers["Authorization"] = "Bearer " .. os.getenv("BENCH_TOKEN")
wrk.headers["Content-Type"] = "application/json"
dofile(dir .. "/report.lua")
