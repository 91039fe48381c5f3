/**
 * Middleware that stamps responses, plus a MONITORING hook that logs each request's
 * outcome in the background without delaying it.
 */
import { definePlugin } from '../../src/index.ts';

export default definePlugin({
  metadata: { name: 'request-log', version: '1.0.0', priority: 'MONITORING' },
  processResponse: (response) => ({
    ...response,
    metadata: { ...response.metadata, loggedAt: new Date().toISOString() },
  }),
  onRequestEnd: ({ context, outcome, durationMs }, call) => {
    call.logger.info({ requestId: context.requestId, outcome, duration_ms: durationMs }, 'request finished');
  },
});
