/** The web_search config schema: defaults, bounds, and messages that never quote the URL. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { webSearchConfigSchema } from './config.ts';

test('defaults', () => {
  assert.deepEqual(webSearchConfigSchema.parse({ url: 'http://127.0.0.1:8888' }), {
    provider: 'searxng',
    url: 'http://127.0.0.1:8888',
    max_results: 5,
    timeout_ms: 10_000,
    headers: {},
    safe_search: 'moderate',
    language: 'all',
    snippet_chars: 400,
  });
});

test('refused: no url, a non-http url (without quoting it), max_results past 20, unknown provider or key', () => {
  const bad: [unknown, RegExp][] = [
    [{}, /url/],
    [{ url: 'ftp://user:topsecret@example.org' }, /expected an http:\/\/ or https:\/\/ URL/],
    [{ url: 'not a url with topsecret' }, /not a valid URL/],
    [{ url: 'http://x', max_results: 21 }, /max_results/],
    [{ url: 'http://x', max_results: 0 }, /max_results/],
    [{ url: 'http://x', provider: 'google' }, /searxng/],
    [{ url: 'http://x', headers: { 'bad header': 'v' } }, /header name/],
    [{ url: 'http://x', language: 'english please' }, /language tag/],
    [{ url: 'http://x', maxResults: 3 }, /maxResults/],
  ];
  for (const [input, message] of bad) {
    const parsed = webSearchConfigSchema.safeParse(input);
    assert.equal(parsed.success, false, JSON.stringify(input));
    const issues = JSON.stringify(parsed.error?.issues);
    assert.match(issues, message, JSON.stringify(input));
    assert.ok(!issues.includes('topsecret'), `the URL is not quoted: ${issues}`);
  }
});
