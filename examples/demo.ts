/**
 * Runs one chat through the example plugins, streamed to the terminal, then prints the
 * plugin status. Usage: npm start -- "your message"
 */
import { createChatContext, PluginManager } from '../src/index.ts';

const text = process.argv.slice(2).join(' ') || 'Hello! Write to me at ann@example.com.';
const manager = new PluginManager({ pluginDirectory: new URL('./plugins', import.meta.url).pathname });
const loaded = await manager.loadPluginsFromDirectory();
await manager.initialize();
console.log(`Loaded plugins: ${loaded.join(', ')}\n`);

console.log(`> ${text}`);
const stream = manager.stream(createChatContext({ stream: true, messages: [{ role: 'user', content: text }] }));
for await (const chunk of stream) process.stdout.write(chunk.content ?? '');
const response = await stream.response;
console.log(`\n\n(${response.turns} model turn, backend ${response.backend}, ${response.steps.length} plugin steps)`);

for (const plugin of Object.values(manager.getPluginStatus().plugins)) {
  console.log(`  ${plugin.name.padEnd(15)} ${plugin.state.padEnd(8)} ${plugin.kinds.join(', ') || 'hooks only'}`);
}
await manager.shutdown();
