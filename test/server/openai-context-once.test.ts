/**
 * The OpenAI chat route validates a request once: its schema is stricter than the core's, so
 * the context mapped from a valid body is frozen without being validated again
 * (`createPrevalidatedChatContext`). This property test is what makes that safe: for
 * generated requests the route schema accepts, the mapped input is a valid core context, and
 * the unchecked context equals the validated one. Seeded (FUZZ_SEED replays a failure).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { createChatContext, createPrevalidatedChatContext } from '../../src/core/model/context.ts';
import { chatCompletionRequestSchema } from '../../src/server/openai/request-schema.ts';
import { chatContextInput } from '../../src/server/openai/to-chat-context.ts';

const seed = process.env.FUZZ_SEED === undefined ? Date.now() % 2 ** 31 : Number(process.env.FUZZ_SEED);
const maybe = <T>(arbitrary: fc.Arbitrary<T>) => fc.option(arbitrary, { nil: undefined, freq: 2 });
const text = fc.string({ maxLength: 12 });
const name = fc.stringMatching(/^[a-z_]{1,10}$/);

const textParts = fc.oneof(
  text,
  fc.array(fc.record({ type: fc.constant('text'), text }), { minLength: 1, maxLength: 2 }),
);
const toolCall = fc.record({
  id: fc.stringMatching(/^call_[a-z0-9]{1,6}$/),
  type: fc.constant('function'),
  function: fc.record({ name, arguments: fc.constantFrom('{}', '{"x":1}', 'not json') }),
});
const message = fc.oneof(
  fc.record(
    { role: fc.constantFrom('system', 'developer'), content: textParts },
    { requiredKeys: ['role', 'content'] },
  ),
  fc.record(
    {
      role: fc.constant('user'),
      content: fc.oneof(
        text,
        fc.array(
          fc.oneof(
            fc.record({ type: fc.constant('text'), text }),
            fc.record({
              type: fc.constant('image_url'),
              image_url: fc.record(
                {
                  url: fc.constantFrom('https://x.test/a.png', 'data:image/png;base64,AAAA'),
                  detail: fc.constantFrom('auto', 'low', 'high'),
                },
                { requiredKeys: ['url'] },
              ),
            }),
          ),
          { minLength: 1, maxLength: 3 },
        ),
      ),
      name: maybe(name),
    },
    { requiredKeys: ['role', 'content'] },
  ),
  fc.record(
    {
      role: fc.constant('assistant'),
      content: fc.option(textParts, { nil: null }),
      tool_calls: fc.array(toolCall, { maxLength: 2 }),
      reasoning_content: text,
      refusal: text,
    },
    { requiredKeys: ['role'] },
  ),
  fc.record({ role: fc.constant('tool'), content: textParts, tool_call_id: fc.stringMatching(/^call_[a-z0-9]{1,6}$/) }),
);
const tool = fc.record({
  type: fc.constant('function'),
  function: fc.record(
    {
      name,
      description: text,
      parameters: fc.constantFrom(
        { type: 'object', properties: {} },
        { type: 'object', properties: { q: { type: 'string' } } },
      ),
      strict: fc.boolean(),
    },
    { requiredKeys: ['name'] },
  ),
});
const body = fc.record(
  {
    model: fc.stringMatching(/^[a-z0-9/.:-]{1,16}$/),
    messages: fc.array(message, { minLength: 1, maxLength: 4 }),
    stream: fc.option(fc.boolean(), { nil: null }),
    max_tokens: fc.integer({ min: 1, max: 4096 }),
    max_completion_tokens: fc.integer({ min: 1, max: 4096 }),
    temperature: fc.double({ min: 0, max: 2, noNaN: true }),
    top_p: fc.double({ min: 0, max: 1, noNaN: true }),
    top_k: fc.integer({ min: 0, max: 100 }),
    stop: fc.oneof(text, fc.array(text, { maxLength: 3 })),
    seed: fc.integer(),
    frequency_penalty: fc.double({ min: -2, max: 2, noNaN: true }),
    presence_penalty: fc.double({ min: -2, max: 2, noNaN: true }),
    logit_bias: fc.dictionary(fc.stringMatching(/^[0-9]{1,4}$/), fc.integer({ min: -100, max: 100 }), { maxKeys: 2 }),
    response_format: fc.oneof(
      fc.constant({ type: 'text' }),
      fc.constant({ type: 'json_object' }),
      fc.record({
        type: fc.constant('json_schema'),
        json_schema: fc.record({ name, schema: fc.constant({ type: 'object' }) }),
      }),
    ),
    tools: fc.array(tool, { maxLength: 2 }),
    tool_choice: fc.constantFrom('none', 'auto', 'required'),
    parallel_tool_calls: fc.boolean(),
    user: text,
    metadata: fc.dictionary(name, text, { maxKeys: 2 }),
    store: fc.boolean(),
    reasoning_effort: fc.constantFrom('low', 'medium', 'high'),
    n: fc.constant(1),
  },
  { requiredKeys: ['model', 'messages'] },
);

const request = { id: 'req-1', ip: '127.0.0.1', headers: { 'user-agent': 'test', authorization: 'Bearer hidden' } };

test('every request the OpenAI schema accepts maps to a valid core context, equal without the second validation', () => {
  let accepted = 0;
  fc.assert(
    fc.property(body, (candidate) => {
      const parsed = chatCompletionRequestSchema.safeParse(candidate);
      if (!parsed.success) return; // the route answers 400: nothing is mapped
      accepted++;
      const input = chatContextInput(parsed.data, request);
      const validated = createChatContext(input); // throws if the route's schema let through what the core refuses
      assert.deepStrictEqual(createPrevalidatedChatContext(input), validated);
    }),
    { seed, numRuns: 600 },
  );
  assert.ok(accepted > 200, `enough generated requests were valid (${accepted})`);
});
