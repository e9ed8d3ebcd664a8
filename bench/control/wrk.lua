-- wrk script for bench/control: every request acts as a random registered peer.
-- Environment: PEERS (the file populate wrote: "party_id peer_id token" lines)
-- and MODE ("heartbeat", "peers" or "health").
local peers = {}
local mode = os.getenv("MODE") or "heartbeat"

function init(args)
	for line in io.lines(os.getenv("PEERS")) do
		local party, peer, token = line:match("^(%S+) (%S+) (%S+)$")
		if party then
			peers[#peers + 1] = { party = party, peer = peer, token = token }
		end
	end
	math.randomseed(os.time() + (args[1] and tonumber(args[1]) or 0))
end

function request()
	local p = peers[math.random(#peers)]
	local headers = { ["Authorization"] = "Bearer " .. p.token }
	if mode == "health" then
		return wrk.format("GET", "/")
	end
	if mode == "peers" then
		return wrk.format("GET", "/parties/" .. p.party .. "/peers", headers)
	end
	headers["Content-Length"] = "0"
	return wrk.format("POST", "/parties/" .. p.party .. "/peers/" .. p.peer .. "/heartbeat", headers)
end

local failures = 0
function response(status, headers, body)
	if status ~= 200 then
		failures = failures + 1
	end
end

function done(summary, latency, requests)
	io.write(string.format("RESULT mode=%s requests=%d rps=%.0f p50_ms=%.3f p99_ms=%.3f max_ms=%.3f non2xx=%d errors=%d\n",
		mode, summary.requests, summary.requests / (summary.duration / 1e6),
		latency:percentile(50) / 1000, latency:percentile(99) / 1000, latency.max / 1000,
		summary.errors.status, summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout))
end
