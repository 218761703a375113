-- GET without credentials (GET /v1/{workspace}/jwks.json).
local dir = os.getenv("BENCH_LUA_DIR") or "bench"
wrk.method = "GET"
dofile(dir .. "/report.lua")
