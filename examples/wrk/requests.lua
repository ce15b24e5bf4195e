-- `make bench` (examples/bench.rs) drives every measured endpoint with wrk
-- through this script:
--
--   wrk -s requests.lua URL -- LIST [BODY]
--
-- LIST has one request per line, `METHOD<TAB>PATH<TAB>COOKIE` (the cookie
-- may be empty). The requests are sent in turn, each thread starting at its
-- own line, so a list naming 1,000 organisations spreads the load over all
-- of them. POSTs carry BODY. wrk itself only counts "non-2xx or 3xx", so at
-- the end this prints how many answers were 2xx, 429 and anything else (a
-- redirect to the sign-in page is "other"), for the bench to parse.

local threads = {}

function setup(thread)
  thread:set("thread_index", #threads)
  table.insert(threads, thread)
end

function init(args)
  local list, body = args[1], args[2] or ""
  queue = {}
  for line in io.lines(list) do
    local method, path, cookie = line:match("^([^\t]+)\t([^\t]+)\t?(.*)$")
    if method then
      local headers = {}
      if cookie ~= "" then
        headers["Cookie"] = cookie
      end
      local payload = nil
      if method == "POST" then
        payload = body
      end
      queue[#queue + 1] = wrk.format(method, path, headers, payload)
    end
  end
  if #queue == 0 then
    error("no requests in " .. tostring(list))
  end
  -- Threads start far apart in the list (7919 is prime).
  position = (thread_index * 7919) % #queue
  ok, limited, other = 0, 0, 0
end

function request()
  position = position % #queue + 1
  return queue[position]
end

function response(status, headers, body)
  if status >= 200 and status < 300 then
    ok = ok + 1
  elseif status == 429 then
    limited = limited + 1
  else
    other = other + 1
  end
end

function done(summary, latency, requests)
  local total_ok, total_limited, total_other = 0, 0, 0
  for _, thread in ipairs(threads) do
    total_ok = total_ok + thread:get("ok")
    total_limited = total_limited + thread:get("limited")
    total_other = total_other + thread:get("other")
  end
  io.write(string.format("answers: 2xx %d, 429 %d, other %d\n", total_ok, total_limited, total_other))
end
