// tests/browser/viewer-drive.mjs: drives headless Chromium for the tests
// of the log viewer (www/viewer.html), tests/browser/viewer-lib.sh.
//
//     node viewer-drive.mjs URL OUTDIR
//
// Opens URL in Debian's Chromium through playwright-core and then does
// what the shell test asks, one command at a time: the test writes
// OUTDIR/cmd/N (N = 1, 2, ...), then the empty OUTDIR/cmd/N.go; this
// answers in OUTDIR/res/N (the text, or "ERROR: why"). A command is its
// name and its arguments, each ended by a NUL byte (what the shell's
// printf writes without starting a process, and what no argument holds):
//
//   eval EXPR          EXPR evaluated in the page (awaited), as a string
//                      (objects as JSON)
//   wait SECONDS EXPR  EXPR evaluated every 50 ms until it is true
//                      (answers true), for up to SECONDS (answers false);
//                      an error (a page being replaced) counts as not yet
//   goto URL           a new page load
//   wheel DY           the mouse wheel over the log, DY pixels
//                      (negative: up), as a user scrolls
//   fill SELECTOR TEXT types TEXT into the field SELECTOR
//   click SELECTOR     a click on it
//   hover SELECTOR     the pointer moved over it
//   screenshot PATH [WIDTH HEIGHT]
//
// Every request the page makes outside /sselog/, the page's own files
// (the streams, below /events/ or another mount), and its response, is
// appended to OUTDIR/net.log, tab-separated: MS request METHOD URL
// LAST-EVENT-ID | MS response STATUS URL | MS failed URL ERROR; console
// messages and page errors go there too (MS pageerror TEXT). Each page
// records its long tasks (PerformanceObserver 'longtask') in
// window.__longTasks (durations in ms), before its own scripts run.
//
// Runs until SIGTERM (or SIGINT), then closes the browser and exits 0;
// after DRIVE_MAX_SECONDS (default 180) it gives up and exits 3.
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync }
    from 'node:fs';
import { join } from 'node:path';
import { launch, netLog, stopOnSignal, t0 } from './chromium.mjs';

const [url, outdir] = process.argv.slice(2);
if (!url || !outdir) {
	console.error('usage: node viewer-drive.mjs URL OUTDIR');
	process.exit(2);
}
const maxSeconds = Number(process.env.DRIVE_MAX_SECONDS || 180);
const netLogFile = join(outdir, 'net.log');
mkdirSync(join(outdir, 'cmd'), { recursive: true });
mkdirSync(join(outdir, 'res'), { recursive: true });
const net = netLog(netLogFile);
const stop = stopOnSignal();

const browser = await launch();

function stream(r) {
	const p = new URL(r.url()).pathname;
	return !p.startsWith('/sselog/') && p !== '/favicon.ico';
}

// The value of the expression JS in the page, as a string.
async function evaluate(page, js) {
	const v = await page.evaluate(`(async () => (${js}))()`);
	if (typeof v === 'string')
		return v;
	return v === undefined ? 'undefined' : String(JSON.stringify(v));
}

async function run(page, [op, ...arg]) {
	switch (op) {
	case 'eval':
		return evaluate(page, arg[0]);
	case 'wait': {
		// Polled here: each poll from the shell cost it several
		// processes.
		const end = Date.now() + Number(arg[0]) * 1000;
		for (;;) {
			if (await evaluate(page, arg[1]).catch(() => '') === 'true')
				return 'true';
			if (Date.now() >= end)
				return 'false';
			await new Promise((r) => setTimeout(r, 50));
		}
	}
	case 'goto': {
		const r = await page.goto(arg[0], { timeout: 20000 });
		return String(r ? r.status() : 0);
	}
	case 'wheel': {
		const box = await page.locator('#log').boundingBox();
		await page.mouse.move(box.x + box.width / 2, box.y + box.height / 2);
		await page.mouse.wheel(0, Number(arg[0]));
		await page.waitForTimeout(200);
		return 'ok';
	}
	case 'fill':
		await page.locator(arg[0]).fill(arg[1]);
		return 'ok';
	case 'click':
		await page.locator(arg[0]).click();
		return 'ok';
	case 'hover':
		await page.locator(arg[0]).hover();
		return 'ok';
	case 'screenshot':
		await page.setViewportSize({ width: Number(arg[1] || 1000),
		    height: Number(arg[2] || 700) });
		await page.waitForTimeout(300);
		await page.screenshot({ path: arg[0] });
		return 'ok';
	default:
		throw new Error(`unknown op ${op}`);
	}
}

let status = 0;
try {
	const context = await browser.newContext({
		viewport: { width: 1000, height: 700 },
	});
	if (process.env.DRIVE_COOKIE) {
		const [name, ...v] = process.env.DRIVE_COOKIE.split('=');
		await context.addCookies([{ name, value: v.join('='), url }]);
	}
	const page = await context.newPage();
	await page.addInitScript(() => {
		window.__longTasks = [];
		try {
			new PerformanceObserver((l) => {
				for (const e of l.getEntries())
					window.__longTasks.push(e.duration);
			}).observe({ entryTypes: ['longtask'] });
		} catch (e) { /* no longtask: the list stays empty */ }
	});
	page.on('console', (m) => net('console', m.type(), JSON.stringify(m.text())));
	page.on('pageerror', (e) => net('pageerror', JSON.stringify(String(e))));
	page.on('request', async (r) => {
		if (!stream(r))
			return;
		const h = await r.allHeaders().catch(() => ({}));
		net('request', r.method(), r.url(), h['last-event-id'] ?? '');
	});
	page.on('response', (r) => {
		if (stream(r))
			net('response', r.status(), r.url());
	});
	page.on('requestfailed', (r) => {
		if (stream(r))
			net('failed', r.url(), r.failure()?.errorText ?? '');
	});

	const resp = await page.goto(url, { timeout: 20000 });
	if (!resp || resp.status() !== 200)
		throw new Error(`${url}: HTTP ${resp ? resp.status() : 'no response'}`);
	writeFileSync(join(outdir, 'loaded'), '');

	let n = 1;
	const deadline = t0 + maxSeconds * 1000;
	while (!stop.requested) {
		const file = join(outdir, 'cmd', String(n));
		if (existsSync(file + '.go')) {
			let out;
			try {
				out = await run(page, readFileSync(file, 'utf8')
				    .split('\0').slice(0, -1));
			} catch (e) {
				out = 'ERROR: ' + String(e.message || e).split('\n')[0];
			}
			const res = join(outdir, 'res', String(n));
			writeFileSync(res + '.tmp', out);
			renameSync(res + '.tmp', res);
			n++;
			continue;
		}
		if (Date.now() > deadline) {
			console.error(`viewer-drive.mjs: still running after ${maxSeconds} s, giving up`);
			status = 3;
			break;
		}
		await Promise.race([stop.promise, new Promise((r) => setTimeout(r, 20))]);
	}
} catch (e) {
	console.error(`viewer-drive.mjs: ${e.stack || e}`);
	status = 1;
} finally {
	await browser.close();
}
process.exit(status);
