// tests/browser/drive.mjs: drives headless Chromium for eventsource.sh.
//
//     node drive.mjs URL OUTDIR
//
// Opens URL (eventsource.html, which follows a stream with EventSource,
// or credentials.html) in Debian's Chromium through playwright-core, and
// mirrors what the page records (window.log) into files the shell test
// polls:
//
//   OUTDIR/events.log  a line per entry, tab-separated, as it happens:
//                      MS open READYSTATE
//                      MS error READYSTATE
//                      MS event READYSTATE LAST_EVENT_ID TYPE DATA_AS_JSON
//                      and then, for any other field of the entry (a
//                      page's own: the stream, the wall-clock time),
//                      NAME=VALUE, in the order the page set them
//   OUTDIR/state       "READYSTATE ENTRIES" (of window.es, -1 without
//                      it), rewritten when it changes
//   OUTDIR/net.log     the page's requests to /events/ (with their
//                      Last-Event-ID and resource type: eventsource,
//                      fetch), responses, failures, console messages
//                      and page errors: for diagnosis
//
// OUTDIR/next, when the test writes it, holds the URL of the next page:
// the page open is closed, events.log emptied, state removed, and the
// next one loaded; then OUTDIR/next is removed.
//
// DRIVE_HOST_RULES, when set, is Chromium's --host-resolver-rules ("MAP
// *.sselog.test 127.0.0.1"): names for loopback servers, so that a test
// has origins and cookie domains of its own.
//
// It runs until SIGTERM (or SIGINT), then closes the browser and exits 0;
// after DRIVE_MAX_SECONDS (default 120) it gives up and exits 3. No
// browser is ever downloaded: it runs /usr/bin/chromium (or $CHROMIUM)
// with a fresh profile that playwright-core makes below $TMPDIR.
import { appendFileSync, existsSync, readFileSync, renameSync, rmSync,
    unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { launch, netLog, stopOnSignal, t0 } from './chromium.mjs';

const [url, outdir] = process.argv.slice(2);
if (!url || !outdir) {
	console.error('usage: node drive.mjs URL OUTDIR');
	process.exit(2);
}
const maxSeconds = Number(process.env.DRIVE_MAX_SECONDS || 120);
const eventsLog = join(outdir, 'events.log');
const netLogFile = join(outdir, 'net.log');
const stateFile = join(outdir, 'state');
const nextFile = join(outdir, 'next');
writeFileSync(eventsLog, '');

// The fields every entry may have, written in their own columns.
const STANDARD = new Set(['t', 'kind', 'readyState', 'lastEventId', 'type',
    'data']);

const net = netLog(netLogFile);
const stop = stopOnSignal();

const browser = await launch(process.env.DRIVE_HOST_RULES
    ? [`--host-resolver-rules=${process.env.DRIVE_HOST_RULES}`] : []);

// A page on URL, its requests and errors logged.
async function open(url) {
	const page = await browser.newPage();
	page.on('console', (m) => net('console', m.type(), JSON.stringify(m.text())));
	page.on('pageerror', (e) => net('pageerror', JSON.stringify(String(e))));
	page.on('request', async (r) => {
		if (!r.url().includes('/events/'))
			return;
		const h = await r.allHeaders().catch(() => ({}));
		net('request', r.method(), r.url(),
		    'last-event-id=' + (h['last-event-id'] ?? ''),
		    r.resourceType());
	});
	page.on('response', (r) => {
		if (r.url().includes('/events/'))
			net('response', r.status(), r.url());
	});
	page.on('requestfailed', (r) => {
		if (r.url().includes('/events/'))
			net('failed', r.url(), r.failure()?.errorText ?? '');
	});

	const resp = await page.goto(url, { timeout: 20000 });
	if (!resp || resp.status() !== 200)
		throw new Error(`${url}: HTTP ${resp ? resp.status() : 'no response'}`);
	return page;
}

let status = 0;
try {
	let page = await open(url);
	let seen = 0;
	let state = '';
	const deadline = t0 + maxSeconds * 1000;
	while (!stop.requested) {
		if (existsSync(nextFile)) {
			// The next page replaces this one (a browser started
			// once for both): the files start again with its
			// entries, and OUTDIR/next goes once it loaded.
			const next = readFileSync(nextFile, 'utf8').trim();
			await page.close();
			writeFileSync(eventsLog, '');
			rmSync(stateFile, { force: true });
			seen = 0;
			state = '';
			page = await open(next);
			unlinkSync(nextFile);
		}
		const { rs, entries } = await page.evaluate((n) => ({
			rs: window.es ? window.es.readyState : -1,
			entries: (window.log || []).slice(n),
		}), seen);
		if (entries.length > 0) {
			appendFileSync(eventsLog, entries.map((e) => {
				const f = [e.t, e.kind, e.readyState];
				if (e.kind === 'event')
					f.push(e.lastEventId, e.type, JSON.stringify(e.data));
				for (const [k, v] of Object.entries(e)) {
					if (!STANDARD.has(k))
						f.push(k + '=' + String(v).replace(/[\t\n]/g, ' '));
				}
				return f.join('\t') + '\n';
			}).join(''));
			seen += entries.length;
		}
		const s = `${rs} ${seen}\n`;
		if (s !== state) {
			writeFileSync(stateFile + '.tmp', s);
			renameSync(stateFile + '.tmp', stateFile);
			state = s;
		}
		if (Date.now() > deadline) {
			console.error(`drive.mjs: still running after ${maxSeconds} s, giving up`);
			status = 3;
			break;
		}
		await Promise.race([stop.promise, new Promise((r) => setTimeout(r, 25))]);
	}
} catch (e) {
	console.error(`drive.mjs: ${e.stack || e}`);
	status = 1;
} finally {
	await browser.close();
}
process.exit(status);
