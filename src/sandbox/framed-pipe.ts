import { EventEmitter } from 'node:events';
import type { Socket } from 'node:net';

/** Events of a {@link FramedPipe}. */
export interface FramedPipeEvents {
  message: [unknown];
  /** The other side closed the pipe (or it broke). */
  close: [];
  /** The other side sent something that is not a message: a frame over the limit, or not JSON. */
  violation: [string];
}

/**
 * Messages over a pipe between the server and a sandboxed plugin's process: one JSON value per
 * line (JSON escapes newlines inside strings), as Node's own IPC channel does it — but with a
 * limit on a message's size. Node's channel reads a message of any size whole, so a hostile
 * plugin could make the server parse hundreds of MB at a time; here a frame longer than
 * `maxFrameBytes` is a `violation`, and its owner kills the process.
 *
 * @example
 * ```ts
 * const pipe = new FramedPipe(child.stdio[3] as Socket, 64 * 1024 * 1024);
 * pipe.on('message', (message) => handle(message));
 * pipe.send({ t: 'ping', id: 1 });
 * ```
 */
export class FramedPipe extends EventEmitter<FramedPipeEvents> {
  #pending: string[] = [];
  #pendingLength = 0;
  #open = true;

  constructor(
    private readonly socket: Socket,
    private readonly maxFrameBytes: number,
  ) {
    super();
    socket.setEncoding('utf8');
    socket.on('data', (text: string) => this.#receive(text));
    const closed = () => {
      if (!this.#open) return;
      this.#open = false;
      this.emit('close');
    };
    socket.on('end', closed);
    socket.on('close', closed);
    socket.on('error', closed);
  }

  /** True until either side closed the pipe. */
  get open(): boolean {
    return this.#open;
  }

  /** Sends one message; false when the pipe is closed (the message is dropped). */
  send(message: unknown): boolean {
    if (!this.#open) return false;
    this.socket.write(`${JSON.stringify(message)}\n`);
    return true;
  }

  /** Closes this side: the other side sees the end. */
  close(): void {
    if (!this.#open) return;
    this.#open = false;
    this.socket.end();
    this.emit('close');
  }

  /** Keeps (or stops keeping) the event loop alive while the pipe is open. */
  ref(): void {
    this.socket.ref();
  }

  unref(): void {
    this.socket.unref();
  }

  #receive(text: string): void {
    let start = 0;
    let newline = text.indexOf('\n');
    while (newline !== -1) {
      const line = this.#pendingLength === 0 ? text.slice(start, newline) : this.#take(text.slice(start, newline));
      start = newline + 1;
      if (!this.#deliver(line)) return;
      newline = text.indexOf('\n', start);
    }
    if (start < text.length) {
      const rest = text.slice(start);
      this.#pending.push(rest);
      this.#pendingLength += rest.length;
      // Characters, not bytes: a bound within a factor of 4 of the byte limit is what matters here.
      if (this.#pendingLength > this.maxFrameBytes) this.#violate(`a message longer than ${this.maxFrameBytes} bytes`);
    }
  }

  #take(last: string): string {
    this.#pending.push(last);
    const line = this.#pending.join('');
    this.#pending = [];
    this.#pendingLength = 0;
    return line;
  }

  #deliver(line: string): boolean {
    if (line.length > this.maxFrameBytes) {
      this.#violate(`a message longer than ${this.maxFrameBytes} bytes`);
      return false;
    }
    let message: unknown;
    try {
      message = JSON.parse(line);
    } catch {
      this.#violate('a message that is not JSON');
      return false;
    }
    try {
      this.emit('message', message);
    } catch (error) {
      // A handler's failure must not cut the frames after it in this chunk nor escape the socket.
      this.#violate(`a message that could not be handled (${error instanceof Error ? error.message : String(error)})`);
      return false;
    }
    return this.#open;
  }

  #violate(what: string): void {
    this.#pending = [];
    this.#pendingLength = 0;
    if (!this.#open) return;
    this.socket.pause();
    this.emit('violation', what);
  }
}
