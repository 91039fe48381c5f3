import type { Logger } from '../../src/index.ts';

/** One logged line: the logger's bindings (e.g. `request_id`), the object, `level` and `message`. */
export type LogLine = Record<string, unknown> & { readonly level: string; readonly message?: string };

/** A Logger that keeps every line, children included, for assertions on the audit trail. */
export class CapturingLogger implements Logger {
  constructor(
    readonly lines: LogLine[] = [],
    private readonly bindings: Record<string, unknown> = {},
  ) {}

  debug(object: Record<string, unknown>, message?: string): void {
    this.#push('debug', object, message);
  }
  info(object: Record<string, unknown>, message?: string): void {
    this.#push('info', object, message);
  }
  warn(object: Record<string, unknown>, message?: string): void {
    this.#push('warn', object, message);
  }
  error(object: Record<string, unknown>, message?: string): void {
    this.#push('error', object, message);
  }
  child(bindings: Record<string, unknown>): Logger {
    return new CapturingLogger(this.lines, { ...this.bindings, ...bindings });
  }

  /** The lines of an operation, from `mark` (a previous `lines.length`) on. */
  of(operation: string, mark = 0): LogLine[] {
    return this.lines.slice(mark).filter((line) => line.operation === operation);
  }

  #push(level: string, object: Record<string, unknown>, message?: string): void {
    this.lines.push({ ...this.bindings, ...object, level, ...(message === undefined ? {} : { message }) });
  }
}

/** A fetch to the admin API with the token: method, path, optional JSON body; answers status and parsed body. */
export async function adminCall(
  url: string,
  token: string,
  method: 'GET' | 'POST',
  path: string,
): Promise<{ status: number; body: Record<string, unknown>; headers: Headers }> {
  const response = await fetch(`${url}${path}`, { method, headers: { authorization: `Bearer ${token}` } });
  const text = await response.text();
  let body: Record<string, unknown>;
  try {
    body = JSON.parse(text) as Record<string, unknown>;
  } catch {
    throw new Error(`${method} ${path} answered ${response.status} with a body that is not JSON: ${text}`);
  }
  return { status: response.status, body, headers: response.headers };
}
