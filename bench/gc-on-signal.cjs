// Preloaded (with --expose-gc) into the server that bench/startup.bench.ts loads with traffic:
// SIGUSR2 runs a full garbage collection, so that memory is compared after GC, not by when V8
// happened to collect.
process.on('SIGUSR2', () => globalThis.gc?.());
