import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { namespacedName, resultText, toolParametersOf } from './mcp-tools.ts';

describe('MCP tools in the registry', () => {
  test('names are namespaced, sanitized and at most 64 characters', () => {
    assert.equal(namespacedName('files', 'read_file'), 'files__read_file');
    assert.equal(namespacedName('files', 'read.file/v2'), 'files__read_file_v2');
    const long = namespacedName('srv', 'x'.repeat(100));
    assert.equal(long.length, 64);
    assert.match(long, /^srv__x+$/);
  });

  test('input schema: $schema dropped, an object schema always', () => {
    assert.deepEqual(
      toolParametersOf({
        name: 't',
        inputSchema: { type: 'object', $schema: 'https://json-schema.org/draft/2020-12/schema', properties: { a: {} } },
      }),
      { type: 'object', properties: { a: {} } },
    );
    assert.deepEqual(toolParametersOf({ name: 't', inputSchema: { type: 'object' } }), {
      type: 'object',
      properties: {},
    });
  });

  test('result content: text joined, other blocks summarized, structured content without content', () => {
    assert.equal(
      resultText({
        content: [
          { type: 'text', text: 'one' },
          { type: 'resource', resource: { uri: 'file:///a.txt', text: 'contents' } },
          { type: 'resource', resource: { uri: 'file:///b.bin', blob: 'AAAA', mimeType: 'application/octet-stream' } },
          { type: 'resource_link', uri: 'file:///c', name: 'c' },
          { type: 'audio', data: 'AAAA', mimeType: 'audio/wav' },
        ],
      }),
      'one\n\n[resource file:///a.txt]\ncontents\n\n[resource file:///b.bin, application/octet-stream]\n\n[resource link file:///c (c)]\n\n[audio: audio/wav, 3 bytes]',
    );
    assert.equal(resultText({ content: [], structuredContent: { sum: 3 } }), '{"sum":3}');
  });
});
