-- The wrk script of every load bench/run.sh makes; BENCH_MODE picks it:
--   me       POST BENCH_BODY with `Authorization: Bearer BENCH_TOKEN`
--   login    sign-ins spread over the users of BENCH_USERS (lines `email device-cookie`), as
--            GraphQL with each user's device cookie (BENCH_LOGIN=graphql, Custodian) or as
--            `{"email","password"}` (BENCH_LOGIN=json, the floor); password BENCH_PASSWORD
--   refresh  `refreshToken`, each thread following its own session from the refresh cookie
--            on its line of BENCH_REFRESH (so run it with as many threads as connections)
--   reset    `requestPasswordReset` for BENCH_EMAIL
-- Every request comes from another X-Forwarded-For address (the servers trust 127.0.0.1), so
-- no per-IP limit meets the load. GraphQL refuses with HTTP 200: a response counts as a
-- success by its body only. done() prints `bench: responses N failed F` and the first failure.

local mode = os.getenv("BENCH_MODE")

local function lines(path)
  local out = {}
  for line in io.lines(path) do
    if line ~= "" then table.insert(out, line) end
  end
  return out
end

local function json_string(text)
  return '"' .. text:gsub('[%c"\\]', function(c) return string.format("\\u%04x", c:byte()) end) .. '"'
end

-- What a successful answer's body contains.
local success = ({
  me = '"me":{',
  login = '"accessToken":"',
  refresh = '"accessToken":"',
  reset = '"requestPasswordReset":true',
})[mode]
if not success then error("BENCH_MODE must be me, login, refresh or reset") end

local token, me_body = os.getenv("BENCH_TOKEN"), os.getenv("BENCH_BODY")
local reset_body = mode == "reset" and '{"query":"mutation($e: String!){requestPasswordReset(email:$e)}","variables":{"e":'
  .. json_string(os.getenv("BENCH_EMAIL")) .. '}}'
local refresh_body = '{"query":"mutation { refreshToken { accessToken } }"}'

local threads = {}
local refresh_cookies = mode == "refresh" and lines(os.getenv("BENCH_REFRESH")) or nil

function setup(thread)
  local index = #threads
  thread:set("thread_index", index)
  if refresh_cookies then
    if index >= #refresh_cookies then error("more threads than refresh cookies") end
    thread:set("cookie", refresh_cookies[index + 1])
  end
  table.insert(threads, thread)
end

local bodies, cookies = {}, {}

function init(args)
  failed, sent = 0, 0
  if mode == "login" then
    local password = os.getenv("BENCH_PASSWORD")
    local graphql = os.getenv("BENCH_LOGIN") == "graphql"
    for _, line in ipairs(lines(os.getenv("BENCH_USERS"))) do
      local email, device = line:match("^(%S+)%s*(%S*)$")
      if graphql then
        table.insert(bodies, '{"query":"mutation($i: LoginInput!){login(input:$i){... on AuthPayload{accessToken}}}",'
          .. '"variables":{"i":{"email":' .. json_string(email) .. ',"password":' .. json_string(password) .. '}}}')
        table.insert(cookies, device ~= "" and "custodian_device=" .. device or nil)
      else
        table.insert(bodies, '{"email":' .. json_string(email) .. ',"password":' .. json_string(password) .. '}')
      end
    end
  end
end

-- 10.0.0.0/8 split into 64 blocks of 262,144 addresses, one block per thread.
local function next_address()
  sent = sent + 1
  local n = (thread_index % 64) * 262144 + sent % 262144
  return string.format("10.%d.%d.%d", math.floor(n / 65536), math.floor(n / 256) % 256, n % 256)
end

function request()
  local headers = { ["Content-Type"] = "application/json", ["X-Forwarded-For"] = next_address() }
  if mode == "me" then
    headers["Authorization"] = "Bearer " .. token
    return wrk.format("POST", nil, headers, me_body)
  elseif mode == "login" then
    -- The threads start half the list apart, so the same user is rarely signing in twice.
    local user = (sent + thread_index * math.floor(#bodies / 2)) % #bodies + 1
    headers["Cookie"] = cookies[user]
    return wrk.format("POST", nil, headers, bodies[user])
  elseif mode == "refresh" then
    headers["Cookie"] = "custodian_refresh=" .. cookie
    return wrk.format("POST", nil, headers, refresh_body)
  else
    return wrk.format("POST", nil, headers, reset_body)
  end
end

function response(status, headers, body)
  local ok = status == 200 and string.find(body, success, 1, true) ~= nil
  if ok and mode == "refresh" then
    -- wrk keeps one header of each name: the last Set-Cookie, which Custodian makes the
    -- refresh cookie (access first, then refresh). A missing one counts as a failure.
    local set = headers["set-cookie"] or headers["Set-Cookie"] or ""
    local value = set:match("^custodian_refresh=([^;]+)")
    if value then cookie = value else ok = false end
  end
  if not ok then
    failed = failed + 1
    if not first_failure then
      first_failure = string.format("HTTP %d %s", status, (body or ""):sub(1, 300):gsub("%s+", " "))
    end
  end
end

function done(summary, latency, requests)
  local total, sample = 0, nil
  for _, thread in ipairs(threads) do
    total = total + thread:get("failed")
    sample = sample or thread:get("first_failure")
  end
  io.write(string.format("bench: responses %d failed %d\n", summary.requests, total))
  if sample then io.write("bench: first failure: " .. sample .. "\n") end
end
