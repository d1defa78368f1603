// Page objects for Warren's window: what a person sees and does, named once, so the specs
// read as steps. Selectors are the data-testid attributes the renderer sets for this purpose.
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Locator, Page } from 'playwright-core';

/** PeerCard is one peer in the list. */
export class PeerCard {
  constructor(readonly root: Locator) {}

  /** bytes reads a counter as the exact number the page was given. */
  async bytes(which: 'rx' | 'tx'): Promise<number> {
    return Number(await this.root.getByTestId(which).locator('[data-bytes]').getAttribute('data-bytes'));
  }

  async text(testId: string): Promise<string> {
    return (await this.root.getByTestId(testId).innerText()).trim();
  }

  get exitSwitch(): Locator {
    return this.root.getByTestId('exit-switch');
  }

  /** exitInUse is the switch's aria-checked. */
  async exitInUse(): Promise<boolean> {
    return (await this.exitSwitch.getAttribute('aria-checked')) === 'true';
  }

  /** waitExitInUse waits until the switch shows the wanted position. */
  async waitExitInUse(want: boolean, timeoutMs = 10_000): Promise<void> {
    await this.root.locator(`[data-testid=exit-switch][aria-checked="${want}"]`).waitFor({ timeout: timeoutMs });
  }

  /** openWhy opens the explanation and returns its text once the helper answered. */
  async openWhy(): Promise<string> {
    await this.root.getByTestId('why-button').click();
    const panel = this.root.getByTestId('why');
    await panel.locator('pre').waitFor({ timeout: 10_000 });
    return panel.innerText();
  }
}

/** AppPage is the whole window. */
export class AppPage {
  constructor(
    readonly page: Page,
    private readonly artifacts: string,
  ) {
    mkdirSync(artifacts, { recursive: true });
  }

  async goto(url: string): Promise<void> {
    await this.page.goto(url);
    await this.page.getByTestId('tunnel-state').waitFor();
  }

  /** state is the header's state key: connected, disconnected, connecting, error, starting, down,
   * or held (up, but the coordinator gives the tunnel nothing to reach, e.g. pending approval). */
  async state(): Promise<string | null> {
    return this.page.getByTestId('tunnel-state').getAttribute('data-state');
  }

  async waitForState(state: string, timeoutMs = 15_000): Promise<void> {
    await this.page.locator(`[data-testid=tunnel-state][data-state="${state}"]`).waitFor({ timeout: timeoutMs });
  }

  get connectButton(): Locator {
    return this.page.getByTestId('connect');
  }

  get disconnectButton(): Locator {
    return this.page.getByTestId('disconnect');
  }

  get helperDown(): Locator {
    return this.page.getByTestId('helper-down');
  }

  get readOnlyBanner(): Locator {
    return this.page.getByTestId('read-only');
  }

  get notice(): Locator {
    return this.page.getByTestId('notice');
  }

  /** peer finds the card of a peer by identity, waiting for it to appear. */
  async peer(identity: string, timeoutMs = 15_000): Promise<PeerCard> {
    const root = this.page.locator(`[data-testid=peer][data-identity="${identity}"]`);
    await root.waitFor({ timeout: timeoutMs });
    return new PeerCard(root);
  }

  async openTab(tab: 'peers' | 'enrol'): Promise<void> {
    await this.page.getByTestId(`tab-${tab}`).click();
  }

  /** setTheme clicks the toggle until the wanted choice is in force. */
  async setTheme(choice: 'system' | 'light' | 'dark'): Promise<void> {
    const toggle = this.page.getByTestId('theme-toggle');
    for (let i = 0; i < 3 && (await toggle.getAttribute('data-theme-choice')) !== choice; i++) await toggle.click();
  }

  /** themeAttribute is html[data-theme] (absent while the theme follows the system). */
  async themeAttribute(): Promise<string | null> {
    // A string expression: the page's DOM types are not part of this Node project's build.
    return this.page.evaluate('document.documentElement.getAttribute("data-theme")');
  }

  /** focusedTestId is the data-testid of the element with the keyboard focus. */
  async focusedTestId(): Promise<string | null> {
    return this.page.evaluate('document.activeElement && document.activeElement.getAttribute("data-testid")');
  }

  /** screenshot saves the full page as NAME.png in the artifacts directory. */
  async screenshot(name: string): Promise<string> {
    const path = join(this.artifacts, `${name}.png`);
    await this.page.screenshot({ path, fullPage: true });
    return path;
  }
}

/** EnrolForm is the Enrol tab. */
export class EnrolForm {
  constructor(readonly page: Page) {}

  get root(): Locator {
    return this.page.getByTestId('enrol-view');
  }

  async fill(url: string, key: string, coordinatorKey = ''): Promise<void> {
    await this.page.getByTestId('enrol-url').fill(url);
    await this.page.getByTestId('enrol-key').fill(key);
    await this.page.getByTestId('enrol-coordinator-key').fill(coordinatorKey);
  }

  /** insecure is the choice to enrol over http:// without the coordinator key (shown only then). */
  get insecure(): Locator {
    return this.page.getByTestId('enrol-insecure');
  }

  /** outcome is the helper's answer (or main's refusal) next to the button. */
  get outcome(): Locator {
    return this.page.getByTestId('enrol-outcome');
  }

  async submit(): Promise<void> {
    await this.page.getByTestId('enrol-submit').click();
  }

  get signInButton(): Locator {
    return this.page.getByTestId('sign-in-submit');
  }

  /** signInCode is the code the provider's page shows after signing in, as the tab shows it. */
  get signInCode(): Locator {
    return this.page.getByTestId('sign-in-code');
  }

  /** signInLink is the address to open by hand. */
  get signInLink(): Locator {
    return this.page.getByTestId('sign-in-url');
  }

  /** signInCancel is the waiting sign-in's Cancel. */
  get signInCancel(): Locator {
    return this.page.getByTestId('sign-in-cancel');
  }

  /** signInOutcome is how the sign-in goes: waiting, enrolled, refused or cancelled (data-state). */
  get signInOutcome(): Locator {
    return this.page.getByTestId('sign-in-outcome');
  }

  /** signInProgress waits until the sign-in is in the given state. */
  async signInProgress(
    state: 'waiting' | 'enrolled' | 'refused' | 'cancelled' | 'failed',
    timeoutMs = 15_000,
  ): Promise<void> {
    await this.page.locator(`[data-testid=sign-in-outcome][data-state="${state}"]`).waitFor({ timeout: timeoutMs });
  }

  /** fieldErrors are the messages shown next to the fields. */
  async fieldErrors(): Promise<string[]> {
    return this.root.locator('.field .error').allInnerTexts();
  }
}
