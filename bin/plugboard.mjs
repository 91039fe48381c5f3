#!/usr/bin/env node
// Plugboard runs its TypeScript sources directly: tsx registers the loader, no build step.
import { register } from 'tsx/esm/api';

register();
const { main } = await import('../src/cli/main.ts');
process.exitCode = await main(process.argv.slice(2));
