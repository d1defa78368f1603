#!/usr/bin/env node
// ui-screenshot FILE < ADDRESS: opens Warren's window in Debian's Chromium through playwright-core,
// from the one-time address `warren ui --no-open` printed (read from stdin, so that the code is
// never on a command line, where every local user could read it), waits until the tunnel state
// and the peer list are shown, and saves a screenshot. Used by the demo so that its run shows
// what a person would see.
import { chromium } from 'playwright-core';

const [file] = process.argv.slice(2);
if (!file || process.argv.length > 3) {
  console.error('usage: ui-screenshot FILE < ADDRESS');
  process.exit(2);
}
let input = '';
for await (const chunk of process.stdin) input += chunk;
const url = input.trim();
if (!/^http:\/\/127\.0\.0\.1:\d+\/open\?code=[A-Za-z0-9_-]+$/.test(url)) {
  console.error('ui-screenshot: stdin must be the one-time address `warren ui --no-open` printed');
  process.exit(2);
}
const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: ['--no-sandbox'] });
try {
  const page = await browser.newPage({ viewport: { width: 1100, height: 760 } });
  await page.goto(url);
  await page.getByTestId('tunnel-state').waitFor({ timeout: 15_000 });
  // Let the event stream deliver counters once more before the picture.
  await page.waitForTimeout(1500);
  await page.screenshot({ path: file, fullPage: true });
} finally {
  await browser.close();
}
