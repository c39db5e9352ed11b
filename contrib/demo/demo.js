// The demo page: shows the latest build in the log viewer
// (/sselog/viewer.html, www/ in the source tree). contrib/demo/run
// announces each build on the stream demo/builds (a `build` event whose
// data is its stream's name); this page follows that stream and points
// the viewer at the newest one. ?stream=NAME shows that build instead.
"use strict";

(function () {
	var VIEWER = "/sselog/viewer.html?stream=";
	var INDEX = "/events/demo/builds?lastEventId=0";
	var frame = document.getElementById("viewer");
	var link = document.getElementById("open");
	var shown = null;

	function show(stream) {
		if (stream === shown)
			return;
		shown = stream;
		var url = VIEWER + encodeURIComponent(stream);
		frame.src = url;
		link.href = url;
		link.textContent = stream;
	}

	var chosen = new URLSearchParams(location.search).get("stream");
	if (chosen) {
		show(chosen);
		return;
	}
	// The replay of demo/builds names every build so far in one burst:
	// show the last name once the burst is over.
	var index = new EventSource(INDEX), timer = null;
	index.addEventListener("build", function (e) {
		clearTimeout(timer);
		timer = setTimeout(function () {
			show(e.data);
		}, 150);
	});
})();
