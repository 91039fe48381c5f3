import { rules } from '@secretlint/secretlint-rule-preset-recommend';
import type { Detector, Finding, Span } from './types.ts';

type RuleCreator = (typeof rules)[number];
type RuleContext = Parameters<RuleCreator['create']>[0];
type RuleHandler = ReturnType<RuleCreator['create']>;
type SourceCode = Parameters<NonNullable<RuleHandler['file']>>[0];
type Translate = ReturnType<RuleContext['createTranslator']>;

/**
 * The rules of `@secretlint/secretlint-rule-preset-recommend` (AWS secret keys, GCP service
 * accounts, npm, Slack, SendGrid, Shopify, GitHub, GitLab, Grafana, OpenAI, Anthropic, Groq,
 * Hugging Face, Linear, Notion, 1Password, database connection strings, basic-auth URLs,
 * Vault, Vercel, Databricks, Docker, Figma, private keys), run synchronously on a message.
 *
 * `@secretlint/core`'s `lintSource` is async (a promise per message, and streamed text must
 * be transformed synchronously), and it translates every report into a message quoting the
 * secret. So the rules are run directly, each with a minimal context of our own: its
 * translator never formats a message, and reports are kept as ranges only. Every text rule
 * runs synchronously (checked at start-up: a rule answering with a promise would be dropped,
 * since its findings would come too late). `filter-comments` (secretlint-disable comments in
 * source files) is left out: a chat message must not be able to switch the filter off.
 */
export function secretlintDetector(): Detector {
  const scan: Scan = { text: '', reports: [], scanned: false };
  const handlers: RuleHandler[] = [];
  for (const rule of rules) {
    if (rule.meta.id.endsWith('/secretlint-rule-filter-comments')) continue;
    if (!rule.meta.supportedContentTypes.some((type) => type === 'text' || type === 'all')) continue;
    handlers.push(rule.create(contextFor(scan), {}));
  }
  const run = (text: string): readonly Report[] => {
    // find() and candidates() on the same text (a streamed chunk) scan it once.
    if (scan.scanned && scan.text === text) return scan.reports;
    scan.scanned = true;
    scan.text = text;
    scan.reports = [];
    const source = sourceOf(text);
    for (const handler of handlers) {
      const pending = handler.file?.(source);
      // A text rule is synchronous; should one become async, it must not fail the call later.
      if (pending instanceof Promise) pending.catch(() => undefined);
    }
    return scan.reports;
  };
  return {
    category: 'secret',
    find(text: string, out: Finding[]) {
      for (const report of run(text)) out.push({ ...report.secret, category: 'secret' });
    },
    candidates(text: string, out: Span[]) {
      for (const report of run(text)) out.push(report.whole);
    },
  };
}

/** What the rules reported on the text being scanned. */
interface Scan {
  scanned: boolean;
  text: string;
  reports: Report[];
}

/** One report: the secret's own span, and the whole reported match (a key name, `=`, the secret). */
interface Report {
  readonly secret: Span;
  readonly whole: Span;
}

/** A rule context whose reports land in `scan`; its translator never formats a message. */
function contextFor(scan: Scan): RuleContext {
  const translate = ((messageId: string, data?: unknown) => ({ message: '', messageId, data })) as Translate;
  return {
    sharedOptions: {},
    createTranslator: (() => translate) as RuleContext['createTranslator'],
    report(descriptor) {
      const [start, end] = descriptor.range;
      const secret = secretSpan(scan.text, start, end, descriptor.message.data);
      scan.reports.push({ secret, whole: { start: Math.min(start, secret.start), end: Math.max(end, secret.end) } });
    },
    ignore() {},
  };
}

function sourceOf(text: string): SourceCode {
  const source = {
    hasBOM: false,
    content: text,
    filePath: undefined,
    physicalFilePath: undefined,
    contentType: 'text' as const,
    ext: '',
    getFilePath: () => undefined,
    getPhysicalFilePath: () => undefined,
  };
  // Text rules read `content` only; the location helpers are never called on a message.
  return source as unknown as SourceCode;
}

/**
 * Some rules report a range that starts at the key's name and has the secret's length (the
 * AWS secret key rule: `aws_secret_access_key = wJal…` → the name and part of the key). The
 * secret itself is in the report's data: where it occurs inside or just after the range, its
 * own span is the finding, so that all of the secret and none of the name is redacted.
 */
function secretSpan(text: string, start: number, end: number, data: unknown): Span {
  let best: Span | undefined;
  if (typeof data === 'object' && data !== null) {
    for (const value of Object.values(data)) {
      if (typeof value !== 'string' || value.length < 8) continue;
      const at = text.indexOf(value, start);
      if (at < 0 || at > end) continue;
      if (best === undefined || value.length > best.end - best.start) best = { start: at, end: at + value.length };
    }
  }
  return best ?? { start, end };
}
