#!/usr/bin/env node
// ui-screenshot URL FILE: opens Warren's window (the `warren ui` address) in Debian's Chromium
// through playwright-core, waits until the tunnel state and the peer list are shown, and saves
// a screenshot. Used by the demo so that its run shows what a person would see.
import { chromium } from 'playwright-core';

const [url, file] = process.argv.slice(2);
if (!url || !file) {
  console.error('usage: ui-screenshot URL FILE');
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
