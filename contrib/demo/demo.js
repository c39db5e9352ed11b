// The demo page: follows one build's stream with EventSource. `progress`
// events ({"pct":N,"step":"..."}) move the bar, `log` events (the lines
// that `sselog pipe` published) fill the log pane, and the stream's
// `sselog.close` event ends it. Which build: ?stream=NAME, else the latest
// one that contrib/demo/run announced on the stream demo/builds.
"use strict";

(function () {
	var EVENTS = "/events/";	// where nginx mounts sselog-fcgi
	var INDEX = "demo/builds";	// one `build` event per build: its name
	var build = null;		// the EventSource of the build shown

	function $(id) {
		return document.getElementById(id);
	}

	function url(stream) {
		// lastEventId=0: the whole build from its first event. When
		// EventSource reconnects it sends Last-Event-ID, which the
		// server prefers to the parameter: nothing is sent twice.
		return EVENTS + stream.split("/").map(encodeURIComponent)
		    .join("/") + "?lastEventId=0";
	}

	function setStatus(text) {
		$("status").textContent = text;
		$("status").className = "status " + text.split(" ")[0];
	}

	function addLine(text, cls) {
		var log = $("log");
		var atEnd = log.scrollTop + log.clientHeight >=
		    log.scrollHeight - 4;
		var div = document.createElement("div");
		div.textContent = text;
		if (cls)
			div.className = cls;
		log.appendChild(div);
		while (log.childNodes.length > 2000)
			log.removeChild(log.firstChild);
		if (atEnd)
			log.scrollTop = log.scrollHeight;
	}

	function setProgress(pct, step) {
		pct = Math.max(0, Math.min(100, Number(pct) || 0));
		$("fill").style.width = pct + "%";
		$("bar").setAttribute("aria-valuenow", pct);
		$("pct").textContent = pct + "%";
		$("step").textContent = step || "";
	}

	function parse(e) {
		try {
			return JSON.parse(e.data);
		} catch (err) {
			return {};
		}
	}

	function follow(stream) {
		if (build)
			build.close();
		$("stream").textContent = stream;
		$("log").textContent = "";
		setProgress(0, "");
		setStatus("connecting");

		var es = build = new EventSource(url(stream));
		es.onopen = function () {
			setStatus("live");
		};
		es.onerror = function () {
			// CONNECTING: EventSource tries again by itself, with
			// Last-Event-ID. CLOSED: the server answered with an
			// error status, or 204 (nothing more will come).
			setStatus(es.readyState === EventSource.CLOSED ?
			    "stopped" : "reconnecting");
		};
		es.onmessage = function (e) {
			addLine(e.data);
		};
		es.addEventListener("log", function (e) {
			addLine(e.data);
		});
		es.addEventListener("progress", function (e) {
			var p = parse(e);
			setProgress(p.pct, p.step);
		});
		es.addEventListener("sselog.gap", function (e) {
			var g = parse(e);
			addLine("[events after id " + g.lastEventId + " and " +
			    "before id " + g.firstAvailableId + " were pruned " +
			    "from the log]", "note");
		});
		es.addEventListener("sselog.close", function () {
			// The build closed its stream: stop here, or
			// EventSource would reconnect (and get 204).
			es.close();
			setStatus("finished");
			if (!chosen)
				addLine("[waiting for the next build]", "note");
		});
	}

	var chosen = new URLSearchParams(location.search).get("stream");
	if (chosen) {
		follow(chosen);
		return;
	}
	// The latest build: the replay of demo/builds names every build so
	// far in one burst, so follow the last name once the burst is over.
	var index = new EventSource(url(INDEX)), timer = null;
	index.addEventListener("build", function (e) {
		clearTimeout(timer);
		timer = setTimeout(function () {
			follow(e.data);
		}, 150);
	});
	index.onerror = function () {
		if (!build)
			setStatus(index.readyState === EventSource.CLOSED ?
			    "stopped" : "reconnecting");
	};
})();
