/**
 * What the chat page's browser tests do again and again: find the composer, send a message,
 * wait for a reply to stream, read the last reply. Locators by role and label, as a user (and
 * a screen reader) finds the controls — a control without its label fails these tests.
 */
import type { Browser, Locator, Page } from 'playwright-core';
import { launchBrowser } from '../support/browser.ts';

/** The message box. */
export const composer = (page: Page): Locator => page.getByRole('textbox', { name: 'Message' });

/** Every reply, oldest first. */
export const replies = (page: Page): Locator =>
  page.getByRole('log', { name: 'Messages' }).locator('.message.assistant');

/** The last reply. */
export const lastReply = (page: Page): Locator => replies(page).last();

/** Types `text` (newlines as Shift+Enter, as a user would) and sends it with Enter. */
export async function sendMessage(page: Page, text: string): Promise<void> {
  const box = composer(page);
  await box.fill(text);
  await box.press('Enter');
}

/** Waits until the last reply has ended (done, stopped or failed) and returns its status class. */
export async function waitForReplyEnd(page: Page, timeout = 30_000): Promise<string> {
  await lastReply(page).waitFor({ timeout });
  await page.locator('.message.assistant.streaming').waitFor({ state: 'detached', timeout });
  const classes = (await lastReply(page).getAttribute('class')) ?? '';
  return ['done', 'stopped', 'failed'].find((status) => classes.split(' ').includes(status)) ?? classes;
}

/** Whether the element has the keyboard focus. */
export function isFocused(locator: Locator): Promise<boolean> {
  return locator.evaluate((element) => element === element.ownerDocument.activeElement);
}

/**
 * Evaluates an expression in the page. This project's TypeScript has no DOM types (it checks
 * Node code), so what runs in the browser is written as a string (page.evaluate runs it through
 * the DevTools protocol, which the page's Content-Security-Policy does not restrict).
 */
export function inPage<T>(page: Page, expression: string): Promise<T> {
  return page.evaluate(expression) as Promise<T>;
}

/**
 * The few browser globals the functions below use, typed here: the functions run in the page,
 * where `globalThis` is the window. (waitForFunction with a string would be run by `eval`,
 * which the page's CSP refuses; a function is injected instead.)
 */
interface PageGlobals {
  readonly document: {
    querySelector(selector: string): { readonly textContent: string | null; readonly value?: unknown } | null;
  };
  readonly location: { readonly hash: string };
}

/** Waits until the text of `selector` holds `includes` (and not `excludes`). */
export async function waitForText(
  page: Page,
  selector: string,
  includes: string,
  options: { readonly excludes?: string; readonly timeout?: number } = {},
): Promise<void> {
  await page.waitForFunction(
    ({ selector, includes, excludes }) => {
      const text = (globalThis as unknown as PageGlobals).document.querySelector(selector)?.textContent ?? '';
      return text.includes(includes) && (excludes === '' || !text.includes(excludes));
    },
    { selector, includes, excludes: options.excludes ?? '' },
    options.timeout === undefined ? {} : { timeout: options.timeout },
  );
}

/** Waits until the text of `selector` no longer starts with `prefix` (and the element is there). */
export async function waitForTextNotStarting(page: Page, selector: string, prefix: string, timeout: number) {
  await page.waitForFunction(
    ({ selector, prefix }) => {
      const text = (globalThis as unknown as PageGlobals).document.querySelector(selector)?.textContent;
      return text !== undefined && text !== null && !text.startsWith(prefix);
    },
    { selector, prefix },
    { timeout },
  );
}

/** Waits until the value of `selector` (a progress bar, an input) is a number above 0. */
export async function waitForPositiveValue(page: Page, selector: string): Promise<void> {
  await page.waitForFunction(
    (selector) => Number((globalThis as unknown as PageGlobals).document.querySelector(selector)?.value ?? 0) > 0,
    selector,
  );
}

/** Waits until the address's fragment no longer holds `text`. */
export async function waitForHashWithout(page: Page, text: string): Promise<void> {
  await page.waitForFunction((text) => !(globalThis as unknown as PageGlobals).location.hash.includes(text), text);
}

/** The answer text of the last reply (its Markdown, without the model label and the buttons). */
export async function lastReplyText(page: Page): Promise<string> {
  return (await lastReply(page).locator('.markdown').textContent()) ?? '';
}

/** Picks a model in the model picker. */
export async function chooseModel(page: Page, id: string): Promise<void> {
  await page.getByLabel('Model', { exact: true }).selectOption(id);
}

/**
 * Launches the browser while `starting` (the server) starts: a server that fails to start
 * closes the browser before the error goes on (a browser left open keeps the test process
 * running forever).
 */
export async function withBrowser<T>(starting: Promise<T>): Promise<[T, Browser]> {
  const launching = launchBrowser();
  let started: T;
  try {
    started = await starting;
  } catch (error) {
    await (await launching.catch(() => undefined))?.close();
    throw error;
  }
  return [started, await launching];
}

/** A 1×1 PNG, for attaching an image. */
export const TINY_PNG = Buffer.from(
  'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==',
  'base64',
);
