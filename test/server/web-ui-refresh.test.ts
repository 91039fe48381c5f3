/**
 * `plugboard serve`'s check of the web UI's build (bin/refresh-web-ui.mjs): an error while
 * checking (an unreadable folder: EACCES from a stat) or building is a warning, never a stop of
 * `serve`; a build that is fresh is left alone.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
// @ts-expect-error: a plain ES module of the launcher, with JSDoc types only
import { refreshWebUi } from '../../bin/refresh-web-ui.mjs';

type Refresh = (options: {
  loadState?: () => Promise<{ uiBuildNeeded(): string | undefined }>;
  loadBuilder?: () => Promise<{ buildUi(): Promise<unknown> }>;
  warn?: (line: string) => void;
}) => Promise<void>;
const refresh = refreshWebUi as Refresh;

describe('refreshWebUi', () => {
  test('a file-system error while checking the build is a warning, not a failure', async () => {
    const warnings: string[] = [];
    let built = false;
    await refresh({
      loadState: async () => ({
        uiBuildNeeded: () => {
          throw Object.assign(new Error("EACCES: permission denied, stat 'ui/src'"), { code: 'EACCES' });
        },
      }),
      loadBuilder: async () => ({
        buildUi: async () => {
          built = true;
        },
      }),
      warn: (line) => warnings.push(line),
    });
    assert.equal(built, false, 'no build is tried');
    assert.equal(warnings.length, 1, JSON.stringify(warnings));
    assert.match(warnings[0] ?? '', /cannot check the web UI's build \(EACCES: permission denied/);
  });

  test('a stale build is rebuilt; a failed build is a warning', async () => {
    const warnings: string[] = [];
    await refresh({
      loadState: async () => ({ uiBuildNeeded: () => 'older than its sources' }),
      loadBuilder: async () => ({
        buildUi: () => Promise.reject(new Error('vite failed')),
      }),
      warn: (line) => warnings.push(line),
    });
    assert.deepEqual(warnings, [
      "plugboard: the web UI's build is older than its sources: building it",
      'plugboard: the web UI build failed: vite failed',
    ]);
  });

  test('a fresh build is left alone, silently', async () => {
    const warnings: string[] = [];
    await refresh({
      loadState: async () => ({ uiBuildNeeded: () => undefined }),
      loadBuilder: () => assert.fail('no build for a fresh one'),
      warn: (line) => warnings.push(line),
    });
    assert.deepEqual(warnings, []);
  });
});
