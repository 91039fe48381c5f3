/** A feature extension: adds a system prompt before the backend is called. */
import { appendMessages, createMessage, defineFeatureExtension } from '../../src/index.ts';

export default defineFeatureExtension({
  metadata: { name: 'house-style', version: '1.0.0' },
  extend: (context) =>
    appendMessages(context, [createMessage({ role: 'system', content: 'Answer briefly and politely.' })], {
      position: 'start',
    }),
});
