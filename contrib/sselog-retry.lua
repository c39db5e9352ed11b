-- sselog-retry.lua: lighttpd's own errors on the sselog mount, made
-- harmless for EventSource (lighttpd.conf runs it when a response starts,
-- with mod_magnet, Debian package lighttpd-modules-lua).
--
-- While the responder is down or restarting, lighttpd answers 503 (nothing
-- listens on its socket, or lighttpd is still starting it) and EventSource
-- gives up for good on any status but 200: every open page would stay dead
-- after a restart. An EventSource request (its Accept names
-- text/event-stream) gets a 200 instead: an empty event stream with a
-- comment saying why and a reconnection time, after which the browser
-- comes back with its Last-Event-ID and misses nothing. Every other client
-- keeps the error status, with one line of text instead of HTML.
local r = lighty.r
local status = r.req_item.http_status

-- Only lighttpd's own error pages, which are HTML: the responder never
-- sends HTML, and answers EventSource's transient trouble itself.
if (status ~= 502 and status ~= 503 and status ~= 504)
    or r.resp_header["Content-Type"] ~= "text/html" then
	return 0
end

local accept = r.req_header["Accept"] or ""
if not accept:find("text/event-stream", 1, true) then
	r.resp_header["Content-Type"] = "text/plain; charset=utf-8"
	r.resp_body.set({ "sselog: the event responder is not reachable;"
	    .. " see the web server's error log\n" })
	-- Returning a status, the same, tells lighttpd that the body is
	-- complete: resp_body.set() alone leaves the response open.
	return status
end

r.resp_header["Content-Type"] = "text/event-stream; charset=utf-8"
r.resp_header["Cache-Control"] = "no-store"
-- 2.0 to 7.0 s, at random (Lua seeds it when lighttpd starts), so that
-- the browsers of a busy site do not all come back in the same second.
r.resp_body.set({
    ": sselog: the event responder is restarting, reconnect later\n",
    "retry: ", tostring(math.random(2000, 6999)), "\n\n" })
return 200
