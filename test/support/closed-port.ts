import { createServer } from 'node:net';

/**
 * A port on 127.0.0.1 with nothing listening (bound, then released): connecting to it is a
 * real "connection refused", as with a backend service that is not running.
 */
export async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}
