// Runs the sandbox child from Plugboard's TypeScript sources, when there is no up-to-date build
// (`npm run build` makes one; the child then starts in ~0.2 s instead of several seconds).
// jiti transpiles in this thread: tsx's loader would need a worker, which the permission model forbids.
import { createJiti } from 'jiti';

await createJiti(import.meta.url, { fsCache: false }).import('./child-main.ts');
