#!/usr/bin/env node
// console-screenshot URL DIR DRAFT < TOKEN_FILE: logs in to the coordinator's web console in
// Debian's Chromium through playwright-core with the admin token (read from stdin, so that it is
// never on a command line, where every local user could read it) and saves screenshots of its
// pages to DIR: console-systems.png, console-policy.png (the dry run of the policy file DRAFT,
// which is checked, not applied) and console-audit.png. Used by the demo.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { chromium } from 'playwright-core';

const args = process.argv.slice(2);
if (args.length !== 3) {
  console.error('usage: console-screenshot URL DIR DRAFT_POLICY < TOKEN_FILE');
  process.exit(2);
}
const [url, dir, draftFile] = args;
if (!/^https?:\/\/[^\s/]+\/console\/$/.test(url)) {
  console.error('console-screenshot: URL must be the console address, e.g. http://203.0.113.100:8080/console/');
  process.exit(2);
}
let input = '';
for await (const chunk of process.stdin) {
  input += chunk;
  if (input.length > 4096) break;
}
const token = input.trim();
if (!/^[A-Za-z0-9_-]{20,200}$/.test(token)) {
  console.error("console-screenshot: stdin must be the admin token (the coordinator data directory's admin.token)");
  process.exit(2);
}
const draft = readFileSync(draftFile, 'utf8');

const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: ['--no-sandbox'] });
try {
  const page = await browser.newPage({ viewport: { width: 1200, height: 800 } });
  const shot = async (name) => {
    const file = join(dir, `console-${name}.png`);
    await page.screenshot({ path: file, fullPage: true });
    console.log(`screenshot: ${file}`);
  };
  const open = async (name) => {
    await page.getByRole('navigation', { name: 'Pages' }).getByRole('button', { name }).click();
    await page.getByRole('heading', { name, level: 2 }).waitFor();
  };
  await page.goto(url);
  await page.getByLabel('Admin token').fill(token);
  await page.getByRole('button', { name: 'Log in' }).click();
  await page.getByRole('heading', { name: 'Systems', level: 2 }).waitFor({ timeout: 15_000 });
  await page.locator('tr[data-identity]').first().waitFor();
  console.log(`logged in; the systems page lists ${await page.locator('tr[data-identity]').count()} systems`);
  await shot('systems');
  await open('Policy');
  // The editor is filled with the policy in force once it has loaded; the draft goes in after.
  await page.getByText(/^In force since /).waitFor();
  await page.getByLabel('Policy file').fill(draft);
  await page.getByRole('button', { name: 'Check', exact: true }).click();
  const dryRun = page.getByLabel('Dry run');
  await dryRun.waitFor();
  if ((await dryRun.locator('table.changes tbody tr').count()) === 0)
    throw new Error(`the dry run of ${draftFile} lists no change: ${await dryRun.innerText()}`);
  console.log(`dry run of the draft: ${(await dryRun.innerText()).replace(/\s+/g, ' ').trim()}`);
  await shot('policy');
  await open('Audit log');
  await page.locator('tbody tr').first().waitFor();
  await shot('audit');
} finally {
  await browser.close();
}
