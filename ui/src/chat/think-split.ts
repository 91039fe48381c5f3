/**
 * Thinking models (DeepSeek R1, Qwen 3 …) served without a reasoning parser write their
 * reasoning into the content as `<think>…</think>` before the answer. The UI shows it apart,
 * collapsed. While it streams, the closing tag has not arrived yet: `open` says so.
 *
 * @example
 * ```ts
 * splitThinking('<think>Let me see</think>Paris.'); // { thinking: 'Let me see', answer: 'Paris.', open: false }
 * splitThinking('<think>Let me');                   // { thinking: 'Let me', answer: '', open: true }
 * ```
 */
export interface SplitContent {
  readonly thinking: string;
  readonly answer: string;
  /** The thinking has begun and not ended (still streaming, or the reply was cut). */
  readonly open: boolean;
}

const OPEN = '<think>';
const CLOSE = '</think>';

export function splitThinking(content: string): SplitContent {
  // Only a tag at the start (after whitespace) is thinking: a reply that talks about the tag
  // in the middle of its text keeps it as text.
  const start = content.search(/\S/);
  if (start === -1 || !content.startsWith(OPEN, start)) return { thinking: '', answer: content, open: false };
  const after = start + OPEN.length;
  const end = content.indexOf(CLOSE, after);
  if (end === -1) return { thinking: content.slice(after).trim(), answer: '', open: true };
  return {
    thinking: content.slice(after, end).trim(),
    answer: content.slice(end + CLOSE.length).replace(/^\s+/, ''),
    open: false,
  };
}
