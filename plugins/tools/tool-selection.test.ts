import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { RegisteredTool } from '../../src/index.ts';
import { chatRequest } from '../../src/testing/index.ts';
import { offerTools, ToolFilter } from './tool-selection.ts';

const tool = (name: string): RegisteredTool => ({
  name,
  description: name,
  parameters: { type: 'object' },
  owner: 'test',
  run: () => '',
});

describe('tool selection', () => {
  test('allow and deny patterns, * for any run of characters', () => {
    const filter = new ToolFilter(['files__*', 'db_query'], ['*__delete*']);
    assert.ok(filter.allows('files__read'));
    assert.ok(filter.allows('db_query'));
    assert.ok(!filter.allows('files__delete_file'), 'deny wins');
    assert.ok(!filter.allows('db_query2'), 'a name is matched whole');
    assert.ok(!filter.allows('web_search'));
  });

  test("the client's tools first; one of the same name shadows the server's", () => {
    const context = chatRequest('hi', { options: { tools: [{ name: 'b', description: 'client b' }] } });
    const offer = offerTools(context, [tool('a'), tool('b')], new ToolFilter(['*'], []));
    assert.deepEqual(
      offer?.tools.map((t) => [t.name, t.description]),
      [
        ['b', 'client b'],
        ['a', 'a'],
      ],
    );
    assert.deepEqual(offer?.offered, ['a']);
    assert.deepEqual(offer?.shadowed, ['b']);
  });

  test('nothing for toolChoice none, or when no tool is allowed', () => {
    const filter = new ToolFilter(['*'], []);
    assert.equal(offerTools(chatRequest('hi', { options: { toolChoice: 'none' } }), [tool('a')], filter), undefined);
    assert.equal(offerTools(chatRequest('hi'), [tool('a')], new ToolFilter(['x'], [])), undefined);
    assert.equal(offerTools(chatRequest('hi'), [], filter), undefined);
  });
});
