#!/usr/bin/env node
// Plugboard runs its TypeScript sources directly: tsx registers the loader, no build step.
import { register } from 'tsx/esm/api';

register();
// `plugboard errors | head`: a reader that closed the pipe early is not an error.
process.stdout.on('error', (error) => {
  if (error.code === 'EPIPE') process.exit(process.exitCode ?? 0);
  throw error;
});
const { main } = await import('../src/cli/main.ts');
process.exitCode = await main(process.argv.slice(2));
