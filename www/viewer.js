// The sselog log viewer: follows one or more streams of sselog-fcgi and
// shows them as a build log (colours, a progress bar, following the end,
// links to lines, a filter). README.md, "A log viewer for your streams".
//
//   viewer.html?stream=NAME[&stream=NAME...][&events=/events/][&since=ID]
//
// The stream is read with fetch() and parsed here rather than with
// EventSource: EventSource delivers only the event types a page names in
// advance (this page shows every type) and never tells the status of a
// failed request (this page must tell 401/403, where it stops, from a
// 502 or a dropped connection, where it reconnects). The protocol is the
// one EventSource speaks: Accept: text/event-stream, Last-Event-ID on
// each reconnect, the server's retry: as the first delay.
//
// Test hooks (tests/browser/viewer-*.sh): <html data-state="connecting|
// live|reconnecting|closed|denied">, data-id on each line's element.
"use strict";

(function () {
	var MAX_LINES = 100000;		// kept in the DOM; older ones dropped
	var FRAME_BUDGET_MS = 12;	// DOM work per animation frame
	var REPLAY_BUDGET_MS = 40;	// the same, while far behind
	var BACKLOG = 2000;		// lines waiting: far behind
	var FLUSH_EVERY_MS = 100;	// live lines go in at most this often
	var RETRY_FIRST_MS = 1000;	// until the server says retry:
	var RETRY_MAX_MS = 15000;	// the back-off's cap
	var ROW_PX = 18;		// a line's height (viewer.css)
	var CHUNK = 500;		// lines in a chunk of the log

	var root = document.documentElement;
	var logEl = document.getElementById("log");
	var noticesEl = document.getElementById("notices");
	var statusEl = document.getElementById("status");
	var progressEl = document.getElementById("progress");
	var pctEl = document.getElementById("pct");
	var labelEl = document.getElementById("progress-label");
	var filterEl = document.getElementById("filter");
	var toEndEl = document.getElementById("to-end");
	var countEl = document.getElementById("count");

	// ---- the query ----

	var params = new URLSearchParams(location.search);
	var streams = params.getAll("stream").filter(function (s) {
		return s !== "";
	});
	var eventsPath = params.get("events") || "/events/";
	var since = params.get("since") || "0";

	// ---- state shown to the user (and to tests) ----

	var state = "";
	function setState(s, text) {
		state = s;
		root.dataset.state = s;
		statusEl.textContent = text || s;
		statusEl.className = "status " + s;
	}

	function notice(text, cls) {
		var div = document.createElement("div");
		div.className = "notice" + (cls ? " " + cls : "");
		div.textContent = text;
		queue.push(div);
		schedule();
	}

	// A notice above the log, outside it (bad query, the dropped lines).
	function topNotice(text, cls) {
		var div = document.createElement("div");
		div.className = "notice" + (cls ? " " + cls : "");
		div.textContent = text;
		noticesEl.appendChild(div);
		return div;
	}

	// ---- ANSI escapes ----
	//
	// SGR (ESC [ ... m) becomes classes and styles on spans; every other
	// sequence is removed: CSI (with its private ? < = > forms), OSC up to
	// BEL or ST (a terminal title, a hyperlink: the payload too), DCS,
	// SOS, PM and APC up to ST, two- and three-byte escapes, the 8-bit
	// CSI and OSC, and the other control characters but tab.
	var ESCAPES = new RegExp(
	    "(?:\\x1b\\[|\\x9b)([0-?]*)[ -/]*([@-~])" +	// 1, 2: CSI
	    "|(?:\\x1b\\]|\\x9d)[^\\x07\\x1b\\x9c]*(?:\\x07|\\x1b\\\\|\\x9c|$)" +
	    "|\\x1b[PX^_][^\\x1b\\x9c]*(?:\\x1b\\\\|\\x9c|$)" +
	    "|\\x1b[ -/]*[0-~]?" +
	    "|[\\x00-\\x08\\x0a-\\x1a\\x1c-\\x1f\\x7f-\\x9f]", "g");
	var HAS_CONTROL = /[\x00-\x08\x0a-\x1f\x7f-\x9f]/;

	// The look of the text: SGR state.
	function Sgr() {
		this.fg = null;		// class name (fg-N) or CSS colour (style)
		this.bg = null;
		this.bold = false;
		this.faint = false;
		this.italic = false;
		this.underline = false;
	}
	Sgr.prototype.plain = function () {
		return this.fg === null && this.bg === null && !this.bold &&
		    !this.faint && !this.italic && !this.underline;
	};

	// The 256-colour palette past the 16 named colours: the 6x6x6 cube,
	// then 24 greys.
	function colour256(n) {
		if (n < 16)
			return n;	// a named colour: a class
		if (n < 232) {
			n -= 16;
			var steps = [0, 95, 135, 175, 215, 255];
			return "rgb(" + steps[Math.floor(n / 36)] + "," +
			    steps[Math.floor(n / 6) % 6] + "," + steps[n % 6] + ")";
		}
		var g = 8 + (n - 232) * 10;
		return "rgb(" + g + "," + g + "," + g + ")";
	}

	// Applies SGR parameters ("1;31", "38;5;208", "" for reset).
	function applySgr(s, paramText) {
		var p = paramText === "" ? [0] : paramText.split(/[;:]/).map(
		    function (x) { return x === "" ? 0 : parseInt(x, 10); });
		for (var i = 0; i < p.length; i++) {
			var c = p[i];
			if (c === 0) {
				Sgr.call(s);
			} else if (c === 1) {
				s.bold = true;
			} else if (c === 2) {
				s.faint = true;
			} else if (c === 3) {
				s.italic = true;
			} else if (c === 4) {
				s.underline = true;
			} else if (c === 22) {
				s.bold = s.faint = false;
			} else if (c === 23) {
				s.italic = false;
			} else if (c === 24) {
				s.underline = false;
			} else if (c >= 30 && c <= 37) {
				s.fg = c - 30;
			} else if (c >= 90 && c <= 97) {
				s.fg = c - 90 + 8;
			} else if (c === 39) {
				s.fg = null;
			} else if (c >= 40 && c <= 47) {
				s.bg = c - 40;
			} else if (c >= 100 && c <= 107) {
				s.bg = c - 100 + 8;
			} else if (c === 49) {
				s.bg = null;
			} else if (c === 38 || c === 48) {
				// 38;5;N or 38;2;R;G;B (and the same for 48);
				// anything else ends the sequence's meaning.
				var col = null;
				if (p[i + 1] === 5 && i + 2 < p.length) {
					col = colour256(Math.min(255, p[i + 2]));
					i += 2;
				} else if (p[i + 1] === 2 && i + 4 < p.length) {
					col = "rgb(" + Math.min(255, p[i + 2]) + "," +
					    Math.min(255, p[i + 3]) + "," +
					    Math.min(255, p[i + 4]) + ")";
					i += 4;
				} else {
					break;
				}
				if (c === 38)
					s.fg = col;
				else
					s.bg = col;
			}
			// Other codes (blink, inverse, fonts...) are dropped.
		}
	}

	function styledSpan(s, text) {
		var span = document.createElement("span");
		var cls = [];
		if (typeof s.fg === "number")
			cls.push("fg-" + s.fg);
		else if (s.fg !== null)
			span.style.color = s.fg;
		if (typeof s.bg === "number")
			cls.push("bg-" + s.bg);
		else if (s.bg !== null)
			span.style.backgroundColor = s.bg;
		if (s.bold)
			cls.push("b");
		if (s.faint)
			cls.push("dim");
		if (s.italic)
			cls.push("i");
		if (s.underline)
			cls.push("u");
		span.className = cls.join(" ");
		span.textContent = text;
		return span;
	}

	// Appends the text of one line to el, as text nodes and styled spans
	// (never as HTML), moving the SGR state s along.
	function renderAnsi(el, line, s) {
		if (s.plain() && !HAS_CONTROL.test(line)) {
			// The common case: no escape.
			if (el.firstChild)
				el.appendChild(document.createTextNode(line));
			else
				el.textContent = line;
			return;
		}
		var last = 0;
		var m;
		function text(t) {
			if (t === "")
				return;
			if (s.plain())
				el.appendChild(document.createTextNode(t));
			else
				el.appendChild(styledSpan(s, t));
		}
		ESCAPES.lastIndex = 0;	// (a global RegExp keeps its place)
		while ((m = ESCAPES.exec(line)) !== null) {
			text(line.slice(last, m.index));
			last = ESCAPES.lastIndex;
			if (m[2] === "m" && /^[0-9;:]*$/.test(m[1]))
				applySgr(s, m[1]);
			if (m[0] === "")
				ESCAPES.lastIndex++;	// never loops on nothing
		}
		text(line.slice(last));
	}

	// ---- lines, and putting them on the page ----
	//
	// Events are parsed as they arrive and their line elements built in a
	// queue; once per animation frame as many as fit in FRAME_BUDGET_MS
	// go into the log at once (one DocumentFragment), so that a replay of
	// 100,000 lines never holds the page up for long and a live stream
	// costs one layout per frame, not one per line. Each batch goes into
	// a chunk of its own, which content-visibility lets the browser skip
	// while it is off screen.

	var queue = [];		// elements waiting to go into the log
	var queueAt = 0;	// the first of them not in it yet
	var scheduled = false;
	var lastFlush = -1e9;	// when lines last went in
	var lineCount = 0;	// lines on the page
	var lineNo = 0;		// lines ever received: each line's number
	var dropped = 0;	// lines dropped from the top
	var droppedEl = null;
	var filterText = "";
	var follow = true;	// keep the end in view
	var ourScrollTop = -1;	// where this page last scrolled the log to
	var pendingTarget = null;	// #ID asked for, not on the page yet
	var newWhileAway = 0;

	// A line's element, made from its record in the queue ({id, text,
	// type, sgr}: the SGR state its event's lines share): a div with
	// its text, its number in an attribute that the style sheet shows
	// (generated content, which copying leaves out). As few nodes as
	// can be, no link of its own: a long log is 100,000 of them, and
	// each node and each link costs the browser work. The link to the
	// line is one element, moved to the line under the pointer.
	function makeLine(r) {
		var div = document.createElement("div");
		div.className = r.type ? "line typed" : "line";
		div.setAttribute("data-id", r.id);
		div.setAttribute("data-n", ++lineNo);
		if (r.type) {
			var t = document.createElement("span");
			t.className = "type";
			t.textContent = r.type;
			div.appendChild(t);
		}
		renderAnsi(div, r.text, r.sgr);
		if (filterText !== "" && !matches(div))
			div.className += " hidden";
		return div;
	}

	// The link to a line, over its number: #ID, the event's id.
	var lineLink = document.createElement("a");
	lineLink.className = "ln";
	logEl.addEventListener("mouseover", function (e) {
		var line = e.target.closest ? e.target.closest(".line") : null;
		if (!line || lineLink.parentNode === line)
			return;
		var id = line.getAttribute("data-id");
		lineLink.href = "#" + id;
		lineLink.title = "a link to this line (#" + id + ")";
		line.insertBefore(lineLink, line.firstChild);
	});

	// The filter looks at a line's text and its type, not its number.
	function matches(div) {
		return div.textContent.toLowerCase().indexOf(filterText) >= 0;
	}

	function addEventLines(id, data, type) {
		var s = new Sgr();	// each event starts plain
		var lines = data.split("\n");
		for (var i = 0; i < lines.length; i++)
			queue.push({ id: id, text: lines[i], type: type, sgr: s });
		schedule();
	}

	// A live stream's lines go in at most every FLUSH_EVERY_MS: each
	// time costs a layout and a paint of the view whatever the number
	// of lines, and a log read by eye loses nothing by it. A backlog
	// goes in at every frame.
	function schedule() {
		if (scheduled)
			return;
		scheduled = true;
		var wait = lastFlush + FLUSH_EVERY_MS - performance.now();
		if (wait > 0 && queue.length - queueAt < BACKLOG)
			setTimeout(frame, wait);
		else
			frame();
	}
	function frame() {
		requestAnimationFrame(flush);
		// A page in the background gets no animation frames: the
		// lines still go in, a little later.
		setTimeout(flush, 250);
	}

	function atBottom() {
		return logEl.scrollTop + logEl.clientHeight >=
		    logEl.scrollHeight - 4;
	}

	function scrollToEnd() {
		logEl.scrollTop = logEl.scrollHeight;
		ourScrollTop = logEl.scrollTop;
	}

	function flush() {
		if (!scheduled)
			return;
		scheduled = false;
		var t0 = lastFlush = performance.now();
		// A long backlog (a replay) gets more of each frame.
		var budget = queue.length - queueAt > BACKLOG ?
		    REPLAY_BUDGET_MS : FRAME_BUDGET_MS;
		var frag = document.createDocumentFragment();
		var n = 0, added = 0;
		// The last chunk is filled up first, so that a live stream
		// of a few lines a frame does not make a chunk of each.
		var chunk = logEl.lastElementChild;
		while (queueAt < queue.length &&
		    performance.now() - t0 < budget) {
			if (!chunk || chunk.childElementCount >= CHUNK) {
				chunk = document.createElement("div");
				chunk.className = "chunk";
				frag.appendChild(chunk);
			}
			// At most 100 at a time between looks at the clock.
			var end = Math.min(queue.length, queueAt + 100,
			    queueAt + CHUNK - chunk.childElementCount);
			for (var i = queueAt; i < end; i++) {
				var q = queue[i];
				if (q.nodeType === undefined) {
					q = makeLine(q);
					added++;
				}
				chunk.appendChild(q);
			}
			// What the chunk measures while it is not rendered:
			// its rows.
			chunk.style.containIntrinsicHeight = "auto " +
			    chunk.childElementCount * ROW_PX + "px";
			n += end - queueAt;
			queueAt = end;
		}
		if (queueAt === queue.length) {
			queue = [];
			queueAt = 0;
		}
		if (n > 0) {
			logEl.appendChild(frag);
			lineCount += added;
			if (!follow)
				newWhileAway += added;
			dropOld();
		}
		countEl.textContent = lineCount + (lineCount === 1 ?
		    " line" : " lines");
		if (pendingTarget !== null)
			goToLine(pendingTarget);
		if (follow)
			scrollToEnd();
		else
			showToEnd();
		if (queueAt < queue.length)
			schedule();
	}

	// Keeps at most MAX_LINES lines, dropping whole chunks from the top:
	// lines taken out of a chunk cost a layout of the log each time
	// (about 20 ms a frame while following 1,000 lines/s), a chunk
	// taken out as a whole almost nothing. So the page keeps between
	// MAX_LINES - CHUNK + 1 and MAX_LINES lines.
	function dropOld() {
		var gone = 0;
		while (lineCount - gone > MAX_LINES && logEl.firstChild) {
			var c = logEl.firstChild;
			gone += c.getElementsByClassName("line").length;
			logEl.removeChild(c);
		}
		if (gone === 0)
			return;
		lineCount -= gone;
		dropped += gone;
		if (!droppedEl)
			droppedEl = topNotice("", "dropped");
		droppedEl.textContent = dropped + " earlier lines dropped " +
		    "(the page keeps at most the last " + MAX_LINES + ")";
	}

	function showToEnd() {
		toEndEl.hidden = false;
		toEndEl.textContent = newWhileAway > 0 ?
		    "Follow the end \u2193 (" + newWhileAway + " new lines)" :
		    "Follow the end \u2193";
	}

	function startFollowing() {
		follow = true;
		newWhileAway = 0;
		toEndEl.hidden = true;
		scrollToEnd();
	}

	// Only the user stops the following: a scroll that leaves the
	// bottom soon after a wheel, a key, a touch or a press on the log
	// (its scroll bar). Any other (the layout of new lines settling)
	// is put back at the end while following.
	var userAt = -1e9;
	function userInput() {
		userAt = performance.now();
	}
	["wheel", "touchmove", "mousedown"].forEach(function (t) {
		logEl.addEventListener(t, userInput, { passive: true });
	});
	document.addEventListener("keydown", function (e) {
		if (e.target !== filterEl)
			userInput();
	});
	logEl.addEventListener("scroll", function () {
		if (atBottom()) {
			if (!follow && pendingTarget === null)
				startFollowing();
		} else if (performance.now() - userAt < 1000) {
			follow = false;
			showToEnd();
		} else if (follow && Math.abs(logEl.scrollTop - ourScrollTop) > 2) {
			scrollToEnd();
		}
	}, { passive: true });
	toEndEl.addEventListener("click", function () {
		if (location.hash)
			history.replaceState(null, "", location.pathname +
			    location.search);
		markTarget(null);
		startFollowing();
	});

	// ---- links to lines: #ID ----

	var targetEls = [];
	function markTarget(id) {
		targetEls.forEach(function (el) {
			el.classList.remove("target");
		});
		targetEls = id === null ? [] : Array.prototype.slice.call(
		    logEl.querySelectorAll('.line[data-id="' + id + '"]'));
		targetEls.forEach(function (el) {
			el.classList.add("target");
		});
	}

	function goToLine(id) {
		var el = logEl.querySelector('.line[data-id="' + id + '"]');
		if (!el) {
			pendingTarget = id;
			return;
		}
		pendingTarget = null;
		follow = false;
		markTarget(id);
		el.scrollIntoView({ block: "center" });
		ourScrollTop = logEl.scrollTop;
		showToEnd();
	}

	function hashTarget() {
		var m = /^#([0-9]+)$/.exec(location.hash);
		return m ? m[1] : null;
	}
	window.addEventListener("hashchange", function () {
		var id = hashTarget();
		if (id !== null)
			goToLine(id);
	});
	if (hashTarget() !== null) {
		pendingTarget = hashTarget();
		follow = false;
	}

	// ---- the filter ----

	var filterTimer = 0;
	filterEl.addEventListener("input", function () {
		clearTimeout(filterTimer);
		filterTimer = setTimeout(applyFilter, 80);
	});
	function applyFilter() {
		filterText = filterEl.value.toLowerCase();
		var all = logEl.getElementsByClassName("line");
		for (var i = 0; i < all.length; i++)
			all[i].classList.toggle("hidden",
			    filterText !== "" && !matches(all[i]));
		// (The lines still in the queue are filtered as they are made.)
		if (follow)
			scrollToEnd();
	}

	// ---- the events ----

	var open = new Set(streams);	// followed streams not closed yet
	var lastId = null;		// the last event id received

	function onProgress(id, data) {
		var p;
		try {
			p = JSON.parse(data);
		} catch (e) {
			p = null;
		}
		if (!p || typeof p !== "object" || !isFinite(Number(p.pct))) {
			addEventLines(id, data, "progress");
			return;
		}
		var pct = Math.max(0, Math.min(100, Number(p.pct)));
		progressEl.value = pct;
		pctEl.textContent = Math.round(pct) + "%";
		var label = p.label !== undefined ? p.label : p.step;
		labelEl.textContent = label === undefined ? "" : String(label);
	}

	function onGap(data) {
		var g;
		try {
			g = JSON.parse(data);
		} catch (e) {
			g = {};
		}
		var last = Number(g.lastEventId), first = Number(g.firstAvailableId);
		var text;
		if (isFinite(last) && isFinite(first) && first > last + 1) {
			text = "gap: events " + (last + 1) + " to " + (first - 1) +
			    " are no longer in the log (pruned)";
		} else {
			text = "gap: the log starts again at event " +
			    (isFinite(first) ? first : "?") +
			    " (it was replaced); what follows is its history";
		}
		// The log restored from an older copy gives ids again that
		// were seen: accept them from there.
		if (isFinite(first) && lastId !== null && first <= lastId)
			lastId = first - 1;
		notice(text, "gap");
	}

	function onClose(data) {
		var name = null;
		try {
			name = JSON.parse(data).stream;
		} catch (e) {
			name = null;
		}
		if (typeof name !== "string")
			return;
		notice("stream " + name + " closed", "closed");
		open.delete(name);
		if (open.size === 0)
			finish();
	}

	function dispatch(ev) {
		eventsHere++;
		if (ev.type === "sselog.gap") {
			onGap(ev.data);
			return;
		}
		if (ev.id !== null) {
			// Every event once, also across reconnects.
			var n = Number(ev.id);
			if (lastId !== null && n <= lastId)
				return;
			lastId = n;
		}
		var id = ev.id === null ? "" : ev.id;
		if (ev.type === "message" || ev.type === "log")
			addEventLines(id, ev.data, null);
		else if (ev.type === "progress")
			onProgress(id, ev.data);
		else if (ev.type === "sselog.close")
			onClose(ev.data);
		else
			addEventLines(id, ev.data, ev.type);
	}

	// ---- the connection ----
	//
	// One request at a time. Its status decides: 200 streams (live), 204
	// is the end (closed), 401/403 stop (denied), anything else and a
	// broken connection reconnect after a delay: the server's retry:,
	// then doubling up to RETRY_MAX_MS while nothing arrives, with some
	// jitter so that many pages do not come back at once.

	var controller = null;
	var retryMs = RETRY_FIRST_MS;
	var failures = 0;
	var timer = 0;
	var finished = false;
	var eventsHere = 0;	// events on the current connection

	function streamUrl() {
		var base = eventsPath.replace(/\/*$/, "/");
		var q = "lastEventId=" + encodeURIComponent(since);
		if (streams.length === 1) {
			return base + streams[0].split("/").map(
			    encodeURIComponent).join("/") + "?" + q;
		}
		return base + "?" + streams.map(function (s) {
			return "stream=" + encodeURIComponent(s);
		}).join("&") + "&" + q;
	}

	function finish() {
		finished = true;
		clearTimeout(timer);
		if (controller)
			controller.abort();
		controller = null;
		setState("closed", "finished");
	}

	function deny(status) {
		finished = true;
		if (controller)
			controller.abort();
		controller = null;
		setState("denied", "not allowed (HTTP " + status + ")");
		topNotice("not allowed: the server answered " + status +
		    (status === 401 ? " (sign in first)" : "") +
		    "; this page stops here", "denied");
	}

	function reconnect(why) {
		if (finished)
			return;
		controller = null;
		failures++;
		var delay = Math.min(RETRY_MAX_MS,
		    retryMs * Math.pow(2, Math.max(0, failures - 1)));
		delay = Math.round(delay * (0.75 + Math.random() * 0.5));
		setState("reconnecting", "reconnecting in " +
		    (delay / 1000).toFixed(1) + " s (" + why + ")");
		timer = setTimeout(connect, delay);
	}

	function connect() {
		if (finished)
			return;
		if (state !== "reconnecting")
			setState("connecting", "connecting");
		var headers = { Accept: "text/event-stream" };
		if (lastId !== null)
			headers["Last-Event-ID"] = String(lastId);
		var ctl = new AbortController();
		controller = ctl;
		eventsHere = 0;
		fetch(streamUrl(), {
			headers: headers,
			cache: "no-store",
			credentials: "same-origin",
			signal: ctl.signal,
		}).then(function (resp) {
			if (ctl !== controller)
				return;
			if (resp.status === 204) {
				finish();
				return;
			}
			if (resp.status === 401 || resp.status === 403) {
				deny(resp.status);
				return;
			}
			var type = resp.headers.get("Content-Type") || "";
			if (resp.status !== 200 ||
			    type.indexOf("text/event-stream") !== 0 ||
			    !resp.body) {
				ctl.abort();
				reconnect("HTTP " + resp.status);
				return;
			}
			setState("live", "live");
			return read(resp.body.getReader(), ctl);
		}).catch(function (e) {
			if (ctl === controller && !finished)
				reconnect(e && e.name === "AbortError" ?
				    "aborted" : "connection lost");
		});
	}

	// The event stream format (HTML, "Server-sent events", "Interpreting
	// an event stream"), on chunks as they arrive.
	function read(reader, ctl) {
		var decoder = new TextDecoder();
		var buf = "";
		var ev = { id: null, type: "", data: [], any: false };

		function field(line) {
			if (line === "") {
				if (ev.any) {
					dispatch({
						id: ev.id,
						type: ev.type || "message",
						data: ev.data.join("\n"),
					});
				}
				ev = { id: null, type: "", data: [], any: false };
				return;
			}
			if (line.charCodeAt(0) === 58)	// ":" a comment
				return;
			var c = line.indexOf(":");
			var name = c < 0 ? line : line.slice(0, c);
			var value = c < 0 ? "" : line.slice(c + 1);
			if (value.charCodeAt(0) === 32)
				value = value.slice(1);
			if (name === "data") {
				ev.data.push(value);
				ev.any = true;
			} else if (name === "event") {
				ev.type = value;
			} else if (name === "id") {
				if (value.indexOf("\0") < 0)
					ev.id = value;
			} else if (name === "retry" && /^[0-9]+$/.test(value)) {
				retryMs = Math.max(100, Number(value));
			}
		}

		// Feeds the lines of buf to field() where they may end with
		// CR, LF or CRLF; returns where the unfinished line starts, -1
		// when the page stopped reading.
		function splitCr() {
			var start = 0;
			var cr = buf.indexOf("\r");
			for (;;) {
				// The next CR, looked for again only once passed:
				// not once per line, which would read a large
				// chunk again for each of its lines.
				if (cr >= 0 && cr < start)
					cr = buf.indexOf("\r", start);
				var lf = buf.indexOf("\n", start);
				var end = lf < 0 ? cr : cr < 0 ? lf : Math.min(lf, cr);
				if (end < 0)
					return start;
				// A CR at the very end may be the first half of
				// a CRLF: wait for the next chunk.
				if (end === cr && end === buf.length - 1)
					return start;
				field(buf.slice(start, end));
				if (finished || ctl !== controller)
					return -1;
				start = end + 1;
				if (end === cr && buf.charCodeAt(start) === 10)
					start++;
			}
		}

		function chunk(r) {
			if (ctl !== controller || finished)
				return;
			if (r.done) {
				buf += decoder.decode();
				reconnect("the response ended");
				return;
			}
			buf += decoder.decode(r.value, { stream: true });
			if (buf.indexOf("\r") < 0) {
				// Lines end with LF alone (as sselog-fcgi
				// sends them): split at once.
				var lines = buf.split("\n");
				buf = lines.pop();
				for (var i = 0; i < lines.length; i++) {
					field(lines[i]);
					if (finished || ctl !== controller)
						return;
				}
			} else {
				var start = splitCr();
				if (start < 0)
					return;
				buf = buf.slice(start);
			}
			if (eventsHere > 0)
				failures = 0;	// it works again: no back-off
			return reader.read().then(chunk);
		}
		return reader.read().then(chunk);
	}

	// ---- start ----

	function bad(text) {
		finished = true;
		setState("closed", "not started");
		topNotice(text, "error");
	}

	document.getElementById("title").textContent =
	    streams.length > 0 ? streams.join(", ") : "sselog";
	if (streams.length > 0)
		document.title = streams.join(", ") + " \u2014 sselog";
	if (streams.length === 0) {
		bad("no stream: add ?stream=NAME to the address " +
		    "(repeat it to follow several)");
	} else if (!/^\/(?!\/)[^\\?#]*$/.test(eventsPath)) {
		bad("events= must be a path on this site, such as /events/");
	} else if (!/^[0-9]+$/.test(since)) {
		bad("since= must be an event id (a number)");
	} else {
		setState("connecting", "connecting");
		connect();
	}
})();
