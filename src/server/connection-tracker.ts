import type { Server } from 'node:http';
import type { Socket } from 'node:net';

/**
 * Knows which of a server's sockets have a response in flight, so that a graceful shutdown
 * can close all the others. Node's `closeIdleConnections()` is not enough: it leaves open the
 * sockets that never sent a request (Node's fetch opens spare ones), which would hold the
 * shutdown for its whole deadline.
 */
export class ConnectionTracker {
  readonly #sockets = new Set<Socket>();
  readonly #busy = new Set<Socket>();

  constructor(server: Server) {
    server.on('connection', (socket: Socket) => {
      this.#sockets.add(socket);
      socket.once('close', () => this.#sockets.delete(socket));
    });
    server.on('request', (request, response) => {
      const socket = request.socket;
      this.#busy.add(socket);
      response.once('close', () => this.#busy.delete(socket));
    });
  }

  /** Closes every socket with no response in flight (keep-alive, or never used). */
  closeIdle(): void {
    for (const socket of this.#sockets) if (!this.#busy.has(socket)) socket.destroy();
  }
}
