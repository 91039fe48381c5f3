// Types of build-manifest.mjs (for the TypeScript that imports it: bench/startup.bench.ts).
export declare const ROOT: string;
export declare const OUT_DIR: string;
export declare const MANIFEST: string;
export declare const BUILT_MAIN: string;
export declare function buildSources(): string[];
export declare function sourceStamps(sources?: readonly string[]): {
  files: Record<string, [number, number]>;
  folders: Record<string, [number, number]>;
};
export declare function manifestFor(stamps: ReturnType<typeof sourceStamps>): object;
export declare function staleReason(): string | undefined;
