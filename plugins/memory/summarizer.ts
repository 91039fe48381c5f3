/**
 * Summaries of the turns that no longer fit a conversation's context. Run after a reply, in
 * the background: the previous summary and the messages after it, up to the target, are sent
 * to the model in batches that fit its context, and each batch's result is stored at once
 * (so a long backlog makes progress even when a later batch fails).
 */
import type { Message } from '../../src/index.ts';
import type { MemoryDeps } from './deps.ts';
import { SUMMARY_INSTRUCTIONS, summaryRequest, transcriptLine } from './prompts.ts';
import { messageTokens } from './token-count.ts';

/** One summary to bring up to date. */
export interface SummaryJob {
  readonly principal: string;
  readonly conversationId: string;
  /** Summarize through this sequence (the newest message that fell out of the window). */
  readonly through: number;
  /** The model the chat used (`summary_model` wins). */
  readonly model: string | undefined;
  /** The chat's prompt budget in tokens: each summary request's prompt fits in it. */
  readonly budget: number;
}

/** Batches one run may send; a longer backlog is continued after the next reply. */
const MAX_BATCHES = 8;

/** The smallest room for messages in one summary request, in tokens (a tiny context still makes progress). */
const MIN_BATCH_TOKENS = 256;

/**
 * Brings a conversation's summary up to `job.through`.
 * @throws whatever the store or the model threw (the caller logs it and counts a failure)
 * @example
 * ```ts
 * await summarize(deps, { principal, conversationId, through: 42, model: 'llama3.2', budget: 3000 }, signal);
 * ```
 */
export async function summarize(deps: MemoryDeps, job: SummaryJob, signal: AbortSignal): Promise<void> {
  const { store, config } = deps;
  const conversation = await store.get(job.principal, job.conversationId);
  if (conversation === undefined) return; // deleted meanwhile
  let summary = conversation.summary;
  const from = summary?.throughSequence ?? 0;
  if (job.through <= from) return;
  const pending = (await store.messages(job.principal, job.conversationId, { afterSequence: from })).filter(
    (stored) => stored.sequence <= job.through,
  );
  const count = await deps.tokens.get();
  const room = Math.max(MIN_BATCH_TOKENS, job.budget - config.summary_max_tokens);
  // A message longer than half the room is cut in the transcript.
  const maxChars = room * 2;
  let next = 0;
  for (let batch = 0; batch < MAX_BATCHES && next < pending.length; batch++) {
    const previous = summary?.text;
    let used = messageTokens(count, system(SUMMARY_INSTRUCTIONS)) + count(previous ?? '') + 32;
    const lines: string[] = [];
    let end = next;
    while (end < pending.length) {
      const line = transcriptLine(pending[end]!.message, maxChars);
      const cost = count(line) + 1;
      if (lines.length > 0 && used + cost > room) break;
      lines.push(line);
      used += cost;
      end++;
    }
    const completion = await deps.models.complete({
      ...modelOf(config.summary_model ?? job.model),
      messages: [system(SUMMARY_INSTRUCTIONS), { role: 'user', content: summaryRequest(previous, lines.join('\n')) }],
      options: { maxTokens: config.summary_max_tokens, temperature: 0 },
      signal,
    });
    const text = completion.message.content.trim();
    if (text === '') throw new Error('the model answered the summary request with no text');
    const stored = await store.setSummary(job.principal, job.conversationId, {
      text,
      throughSequence: pending[end - 1]!.sequence,
    });
    if (stored === undefined) return;
    summary = stored.summary;
    deps.metrics.summaries.inc({ result: 'made' });
    next = end;
  }
}

function system(content: string): Message {
  return { role: 'system', content };
}

function modelOf(model: string | undefined): { model?: string } {
  return model === undefined ? {} : { model };
}
