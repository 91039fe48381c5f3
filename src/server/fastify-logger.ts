import type { FastifyBaseLogger } from 'fastify';
import type { Logger } from '../core/logger.ts';

/**
 * Fastify needs pino's full interface (fatal, trace, level …). A pino logger is used as is;
 * any other {@link Logger} is adapted, fatal mapped to error and trace to debug.
 */
export function toFastifyLogger(logger: Logger): FastifyBaseLogger {
  const candidate = logger as Partial<FastifyBaseLogger>;
  if (typeof candidate.fatal === 'function' && typeof candidate.trace === 'function' && 'level' in candidate) {
    return logger as unknown as FastifyBaseLogger;
  }
  const adapt = (inner: Logger): FastifyBaseLogger => {
    const log =
      (method: 'debug' | 'info' | 'warn' | 'error') =>
      (object: unknown, message?: string): void => {
        if (typeof object === 'string') inner[method]({}, object);
        else inner[method]((object ?? {}) as Record<string, unknown>, message);
      };
    return {
      level: 'info',
      fatal: log('error'),
      error: log('error'),
      warn: log('warn'),
      info: log('info'),
      debug: log('debug'),
      trace: log('debug'),
      silent: () => undefined,
      child: (bindings: Record<string, unknown>) => adapt(inner.child(bindings)),
    } as unknown as FastifyBaseLogger;
  };
  return adapt(logger);
}
