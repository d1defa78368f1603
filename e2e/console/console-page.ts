// The web console as a person uses it, for the e2e tests: log in, open a page, act on a row.
// Every step waits for what the person would see, so a test fails where the console does.
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Page } from 'playwright-core';

export class ConsolePage {
  /** violations are the CSP violations the page reported (securitypolicyviolation events). */
  readonly violations: string[] = [];
  readonly consoleErrors: string[] = [];

  constructor(
    readonly page: Page,
    private readonly artifacts: string,
  ) {
    page.on('console', (m) => {
      if (m.type() === 'error') this.consoleErrors.push(m.text());
    });
    page.on('pageerror', (e) => this.consoleErrors.push(e.message));
    // Exposed functions and init scripts run outside the page's CSP, so they see its violations.
    void page.exposeFunction('__warrenCspViolation', (s: string) => this.violations.push(s));
    void page.addInitScript({
      content: `document.addEventListener('securitypolicyviolation', (e) =>
        window.__warrenCspViolation(e.violatedDirective + ' ' + e.blockedURI));`,
    });
  }

  async login(token: string): Promise<void> {
    await this.page.getByLabel('Admin token').fill(token);
    await this.page.getByRole('button', { name: 'Log in' }).click();
  }

  async open(name: 'Systems' | 'Users' | 'Enrolment keys' | 'Policy' | 'Audit log'): Promise<void> {
    await this.page.getByRole('navigation', { name: 'Pages' }).getByRole('button', { name }).click();
    await this.page.getByRole('heading', { name, level: 2 }).waitFor();
  }

  /** systemRow is the systems table's row of identity. */
  systemRow(identity: string) {
    return this.page.locator(`tr[data-identity="${identity}"]`);
  }

  /** userRow is the users table's row of email. */
  userRow(email: string) {
    return this.page.locator(`tr[data-email="${email}"]`);
  }

  /** confirm clicks an action that asks again, then its "Yes" button. */
  async confirm(identity: string, label: 'Revoke' | 'Delete'): Promise<void> {
    const row = this.systemRow(identity);
    await row.getByRole('button', { name: label, exact: true }).click();
    await row.getByRole('button', { name: `Yes, ${label.toLowerCase()}` }).click();
  }

  async screenshot(name: string): Promise<void> {
    mkdirSync(this.artifacts, { recursive: true });
    await this.page.screenshot({ path: join(this.artifacts, `console-${name}.png`), fullPage: true });
  }
}
