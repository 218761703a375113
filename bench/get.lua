-- GET with the bench API token (GET /v1/endpoints/{id}/signing-keys, and
-- the same request to the null responder).  The URL comes from wrk's
-- command line; BENCH_TOKEN from the environment.
local dir = os.getenv("BENCH_LUA_DIR") or "bench"
wrk.method = "GET"
wrk.headers["Authorization"] = "Bearer " .. os.getenv("BENCH_TOKEN")
dofile(dir .. "/report.lua")
