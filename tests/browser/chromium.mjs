// tests/browser/chromium.mjs: what drive.mjs and viewer-drive.mjs share.
// Debian's Chromium, headless, through playwright-core (no browser is
// ever downloaded: /usr/bin/chromium or $CHROMIUM, with a fresh profile
// that playwright-core makes below $TMPDIR); a log of what a page does,
// timed from the start; SIGTERM and SIGINT as the end of a run, after
// which the driver closes the browser itself.
import { appendFileSync, writeFileSync } from 'node:fs';
import { chromium } from 'playwright-core';

// When the driver started: the times in the logs count from it.
export const t0 = Date.now();

// netLog(FILE): FILE emptied, and a function that appends a line to it:
// the milliseconds since t0, then its arguments, tab-separated.
export function netLog(file) {
	writeFileSync(file, '');
	return (...fields) => appendFileSync(file,
	    [Date.now() - t0, ...fields].join('\t') + '\n');
}

// The end of a run: stop.requested once SIGTERM or SIGINT came, and
// stop.promise resolved then (to wait for it or for something else).
export function stopOnSignal() {
	const stop = { requested: false };
	stop.promise = new Promise((resolve) => {
		for (const sig of ['SIGTERM', 'SIGINT']) {
			process.on(sig, () => { stop.requested = true; resolve(); });
		}
	});
	return stop;
}

// The browser, with the ARGS given beside the ones every test wants.
export function launch(args = []) {
	return chromium.launch({
		executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
		headless: true,
		args: ['--headless', '--no-sandbox', '--disable-gpu',
		    '--disable-background-networking',
		    '--disable-component-update', '--disable-sync',
		    '--no-first-run', '--disable-quic', ...args],
		// The driver closes the browser itself on a signal.
		handleSIGTERM: false,
		handleSIGINT: false,
		handleSIGHUP: false,
		timeout: 30000,
	});
}
