/**
 * Headless Chromium for the web UI's tests: Debian's `/usr/bin/chromium` driven by
 * playwright-core (which never downloads a browser; `.ci/run` installs the package when it is
 * missing). Flags: as root Chromium needs `--no-sandbox`; the background-networking ones stop it
 * from calling Google's services, which this machine's closed network refuses.
 *
 * Screenshots go to `.cache/ui-screenshots/` (gitignored): look at them — a test that passes
 * over a broken-looking page is not done.
 *
 * @example
 * ```ts
 * const browser = await launchBrowser();
 * const page = await browser.newPage();
 * await page.goto(url);
 * await screenshot(page, 'chat-streaming');
 * await browser.close();
 * ```
 */
import { existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type Browser, chromium, type Page } from 'playwright-core';

export const CHROMIUM_PATH = process.env.PLUGBOARD_CHROMIUM ?? '/usr/bin/chromium';

/** The folder screenshots are written to. */
export const SCREENSHOT_DIR = fileURLToPath(new URL('../../.cache/ui-screenshots/', import.meta.url));

/** Launches headless Chromium; fails with what to install when it is missing. */
export async function launchBrowser(): Promise<Browser> {
  if (!existsSync(CHROMIUM_PATH))
    throw new Error(`${CHROMIUM_PATH} is missing: apt-get install chromium (or set PLUGBOARD_CHROMIUM)`);
  return chromium.launch({
    executablePath: CHROMIUM_PATH,
    headless: true,
    args: [
      ...(process.getuid?.() === 0 ? ['--no-sandbox'] : []),
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--disable-dev-shm-usage',
    ],
  });
}

/** Saves a full-page screenshot as `<name>.png` in SCREENSHOT_DIR; returns its path. */
export async function screenshot(page: Page, name: string): Promise<string> {
  await mkdir(SCREENSHOT_DIR, { recursive: true });
  const path = join(SCREENSHOT_DIR, `${name}.png`);
  await page.screenshot({ path, fullPage: true });
  return path;
}

/**
 * Collects what the page reports as broken — uncaught errors, console errors, and requests
 * that failed — so a test can assert there were none (a blank page still "passes" otherwise).
 * Requests to other origins count as failures too: the UI must load nothing from elsewhere.
 */
export function watchPageHealth(page: Page, origin: string): { readonly problems: string[] } {
  const problems: string[] = [];
  page.on('pageerror', (error) => problems.push(`page error: ${error.message}`));
  page.on('console', (message) => {
    if (message.type() === 'error') problems.push(`console error: ${message.text()}`);
  });
  page.on('request', (request) => {
    const url = request.url();
    if (!url.startsWith(origin) && !url.startsWith('data:') && !url.startsWith('blob:'))
      problems.push(`request to another origin: ${url}`);
  });
  return { problems };
}
