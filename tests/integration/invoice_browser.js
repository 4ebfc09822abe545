// Drives one invoice page in headless Chromium (Debian's /usr/bin/chromium through
// playwright-core from /opt/playwright-core, both installed by build/install-deps.sh).
//   node invoice_browser.js '<scenario JSON>'
// Scenario: {"url": …, "acceptLanguage": "…" (optional), "steps": [ … ]}, steps in order:
//   {"do": "expect", "js": "<expression>", "equals": <value>}   evaluated in the page
//   {"do": "wait", "js": "<expression>", "timeout": ms}         until truthy (bounded)
//   {"do": "run", "cmd": ["prog", "arg", …]}                    a command (e.g. pay), exit 0
//   {"do": "shot", "path": "…png", "full": false}                a screenshot (viewport or full)
// Throughout: the page is loaded once (any later navigation or reload fails the run: a
// marker set after loading must survive), no dialog may open (an injected alert()), and
// no Content-Security-Policy violation may be reported. Prints "ok" lines; exit 1 on the
// first failed step.
const { execFileSync } = require('child_process');
const { chromium } = require('/opt/playwright-core/node_modules/playwright-core');

const sc = JSON.parse(process.argv[2]);
const seen = []; // the page's console and network, printed on failure

function fail(msg) {
    console.error('FAIL: ' + msg);
    for (const line of seen.slice(-30)) console.error('  | ' + line);
    process.exit(1);
}

(async () => {
    const browser = await chromium.launch({
        executablePath: '/usr/bin/chromium',
        args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage'],
        timeout: 60000,
    });
    // the listener's certificate is the test CA's; what is tested is the page, not TLS
    const ctx = await browser.newContext({
        ignoreHTTPSErrors: true,
        viewport: { width: 412, height: 1400 }, // a phone's width; tall enough for a screenshot of it all
        extraHTTPHeaders: sc.acceptLanguage ? { 'Accept-Language': sc.acceptLanguage } : {},
    });
    const page = await ctx.newPage();
    let navigations = 0, dialogs = 0;
    const csp = [];
    page.on('dialog', async (d) => { dialogs++; await d.dismiss(); });
    page.on('pageerror', (e) => seen.push('pageerror ' + e.message));
    page.on('request', (r) => seen.push('request ' + r.method() + ' ' + r.url()));
    page.on('requestfailed', (r) => seen.push('failed ' + r.url() + ' ' + (r.failure() || {}).errorText));
    page.on('response', async (r) => {
        const body = /\/status$/.test(r.url()) ? ' ' + (await r.text().catch(() => '')) : '';
        seen.push('response ' + r.status() + ' ' + r.url() + body);
    });
    page.on('console', (m) => {
        seen.push('console ' + m.type() + ' ' + m.text());
        if (/Content.Security.Policy|Refused to/i.test(m.text())) csp.push(m.text());
    });
    page.on('framenavigated', (f) => { if (f === page.mainFrame()) navigations++; });
    const resp = await page.goto(sc.url, { waitUntil: 'load', timeout: 30000 });
    if (!resp || resp.status() !== 200) fail('GET ' + sc.url + ': ' + (resp && resp.status()));
    const loads = navigations;
    await page.evaluate(() => { window.__acpMarker = 'loaded-once'; });
    console.log('ok loaded ' + sc.url);
    for (const st of sc.steps) {
        if (st.do === 'expect') {
            const got = await page.evaluate(st.js);
            if (JSON.stringify(got) !== JSON.stringify(st.equals)) {
                fail(st.js + ' = ' + JSON.stringify(got) + ', want ' + JSON.stringify(st.equals));
            }
            console.log('ok ' + st.js + ' = ' + JSON.stringify(got));
        } else if (st.do === 'wait') {
            // polled with evaluate (waitForFunction evaluates through eval, which the
            // page's CSP rightly refuses)
            const t0 = Date.now(), limit = st.timeout || 20000;
            while (!(await page.evaluate(st.js))) {
                if (Date.now() - t0 > limit) fail('not within ' + limit + ' ms: ' + st.js);
                await page.waitForTimeout(200);
            }
            console.log('ok after ' + (Date.now() - t0) + ' ms: ' + st.js);
        } else if (st.do === 'run') {
            try {
                execFileSync(st.cmd[0], st.cmd.slice(1), { stdio: 'inherit', timeout: 60000 });
            } catch (e) {
                fail('command failed: ' + st.cmd.join(' '));
            }
            console.log('ok ran ' + st.cmd.join(' '));
        } else if (st.do === 'shot') {
            await page.screenshot({ path: st.path, fullPage: !!st.full });
            console.log('ok screenshot ' + st.path);
        } else {
            fail('unknown step ' + JSON.stringify(st));
        }
    }
    const marker = await page.evaluate(() => window.__acpMarker);
    if (marker !== 'loaded-once' || navigations !== loads) {
        fail('the page was reloaded or navigated (' + (navigations - loads) + ' navigations)');
    }
    if (dialogs) fail(dialogs + ' dialog(s) opened: injected script ran');
    if (csp.length) fail('CSP violations: ' + csp.join(' | '));
    console.log('ok no navigation, no dialog, no CSP violation');
    await browser.close();
})().catch((e) => fail(e && e.stack ? e.stack : String(e)));
