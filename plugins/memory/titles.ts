/**
 * Conversation titles: the model's suggestion cleaned into one short line, or the first words
 * of the first user message when the model cannot give one.
 */
import type { MemoryDeps } from './deps.ts';
import { TITLE_INSTRUCTIONS } from './prompts.ts';

/** The longest title memory sets (the store allows more: a user may rename to a longer one). */
export const MAX_AUTO_TITLE_LENGTH = 80;

/** Words of the first user message a fallback title takes. */
const FALLBACK_WORDS = 8;

/**
 * A model's suggested title as a title: its first non-empty line, without Markdown markers, a
 * `Title:` label, quotes or final punctuation, spaces collapsed, cut at a word boundary to
 * {@link MAX_AUTO_TITLE_LENGTH} characters. `undefined` when nothing is left.
 *
 * @example
 * ```ts
 * cleanTitle('Title: "Planning a trip to Lisbon."\n'); // 'Planning a trip to Lisbon'
 * ```
 */
export function cleanTitle(suggested: string): string | undefined {
  const line = suggested
    .split(/\r?\n/)
    .map((part) => part.trim())
    .find((part) => part.replace(/[#*_`"'“”‘’«»\s]/g, '') !== '');
  if (line === undefined) return undefined;
  const cleaned = line
    .replace(/^[#>*\-\s]+/, '')
    .replace(/^(conversation\s+)?title\s*:\s*/i, '')
    .replace(/[*_`"“”«»]/g, '')
    .replace(/^['‘’]+|['‘’]+$/g, '')
    .replace(/\s+/g, ' ')
    .trim()
    .replace(/[\s.,;:!?…。]+$/u, '');
  return cut(cleaned);
}

/**
 * The fallback title: the first words of the first user message, one line, cut as
 * {@link cleanTitle} cuts. `undefined` for a message without words (only images).
 *
 * @example
 * ```ts
 * fallbackTitle('How do I renew my passport before the trip to Lisbon next month?');
 * // 'How do I renew my passport before the'
 * ```
 */
export function fallbackTitle(firstUserMessage: string): string | undefined {
  const words = firstUserMessage
    .replace(/[*_`"“”«»#]/g, '')
    .split(/\s+/)
    .filter(Boolean)
    .slice(0, FALLBACK_WORDS);
  return cut(words.join(' ').replace(/[\s.,;:!?…]+$/u, ''));
}

function cut(text: string): string | undefined {
  if (text === '') return undefined;
  if (text.length <= MAX_AUTO_TITLE_LENGTH) return text;
  const head = text.slice(0, MAX_AUTO_TITLE_LENGTH + 1);
  const space = head.lastIndexOf(' ');
  return (space > MAX_AUTO_TITLE_LENGTH / 2 ? head.slice(0, space) : head.slice(0, MAX_AUTO_TITLE_LENGTH)).trimEnd();
}

/** One title to write. */
export interface TitleJob {
  readonly principal: string;
  readonly conversationId: string;
  /** The first exchange: what the title is about. */
  readonly userMessage: string;
  readonly reply: string;
  /** The model the chat used (`title_model` wins). */
  readonly model: string | undefined;
}

/** Characters of the first exchange quoted to the model. */
const QUOTED_CHARS = 1500;

/**
 * Titles an untitled conversation: the model's suggestion, cleaned, or the first words of the
 * first user message when the model fails or suggests nothing usable. A conversation titled
 * meanwhile (renamed through the API) keeps its title.
 * @throws what the store threw
 * @example
 * ```ts
 * await writeTitle(deps, { principal, conversationId, userMessage: 'Hi', reply: 'Hello!', model: undefined }, signal);
 * ```
 */
export async function writeTitle(deps: MemoryDeps, job: TitleJob, signal: AbortSignal): Promise<void> {
  let title: string | undefined;
  let result: 'generated' | 'fallback' = 'generated';
  try {
    const model = deps.config.title_model ?? job.model;
    const completion = await deps.models.complete({
      ...(model === undefined ? {} : { model }),
      messages: [
        { role: 'system', content: TITLE_INSTRUCTIONS },
        {
          role: 'user',
          content: `User: ${job.userMessage.slice(0, QUOTED_CHARS)}\nAssistant: ${job.reply.slice(0, QUOTED_CHARS)}`,
        },
      ],
      options: { maxTokens: 24, temperature: 0 },
      signal,
    });
    title = cleanTitle(completion.message.content);
  } catch (error) {
    deps.logger.info(
      { reason: error instanceof Error ? error.message : String(error) },
      'memory: the model gave no title; the first words of the conversation are its title',
    );
  }
  if (title === undefined) {
    title = fallbackTitle(job.userMessage);
    result = 'fallback';
  }
  if (title === undefined) return;
  const current = await deps.store.get(job.principal, job.conversationId);
  if (current === undefined || current.title !== undefined) return;
  await deps.store.rename(job.principal, job.conversationId, title);
  deps.metrics.titles.inc({ result });
}
