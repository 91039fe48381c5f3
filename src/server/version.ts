import { readFileSync } from 'node:fs';

/** Plugboard's version, from package.json. */
export const PLUGBOARD_VERSION: string = (
  JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }
).version;
