/**
 * Starts the example plugins from examples/config.yaml, runs one chat streamed to the
 * terminal, then prints the plugin status. Usage: npm start -- "your message"
 */
import { ConfigRuntime } from '../src/config/config-runtime.ts';
import { createChatContext, createDefaultLogger } from '../src/index.ts';

const text = process.argv.slice(2).join(' ') || 'Hello! Write to me at ann@example.com.';
const runtime = await ConfigRuntime.start({
  file: new URL('./config.yaml', import.meta.url).pathname,
  logger: createDefaultLogger('warn'),
});
const { manager } = runtime;
console.log(`Configuration: ${runtime.file}\n`);

console.log(`> ${text}`);
const stream = manager.stream(createChatContext({ stream: true, messages: [{ role: 'user', content: text }] }));
for await (const chunk of stream) process.stdout.write(chunk.content ?? '');
const response = await stream.response;
console.log(`\n\n(${response.turns} model turn, backend ${response.backend}, ${response.steps.length} plugin steps)`);

for (const plugin of Object.values(manager.getPluginStatus().plugins)) {
  console.log(
    `  ${plugin.name.padEnd(15)} ${plugin.state.padEnd(8)} ${plugin.priority.padEnd(10)} ${plugin.kinds.join(', ')}`,
  );
}
await runtime.close();
