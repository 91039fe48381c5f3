/**
 * Redacts e-mail addresses in both directions, also when they arrive split across
 * streamed chunks (the windowed streaming API holds back enough text to see them whole).
 */
import { createPatternRewriter, defineMessageProcessor, withContent } from '../../src/index.ts';

const emails = createPatternRewriter({
  window: 80,
  rules: [{ pattern: /[\w.+-]+@[\w-]+(\.[\w-]+)+/g, replace: '[email]' }],
});

export default defineMessageProcessor({
  metadata: { name: 'redact-emails', version: '1.0.0', priority: 'HIGH' },
  processMessage: (message) => withContent(message, emails.rewrite(message.content)),
  streaming: emails.streaming,
});
