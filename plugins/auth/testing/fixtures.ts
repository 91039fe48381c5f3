/**
 * Test helpers of the auth plugin: temporary keys files, contexts carrying credentials, JWTs
 * signed with a fresh key pair, and a real local HTTP server serving a JWKS.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type CryptoKey, exportJWK, exportSPKI, generateKeyPair, type JWK, type JWTPayload, SignJWT } from 'jose';
import { type ChatContext, createChatContext, createSilentLogger, type Operation } from '../../../src/index.ts';
import type { Admission, Authenticator } from '../authenticator.ts';
import { authConfigSchema } from '../config.ts';

export const silent = createSilentLogger();

/** A fresh temporary folder, removed by `cleanup`. */
export async function tempFolder(): Promise<{
  dir: string;
  path: (name: string) => string;
  cleanup: () => Promise<void>;
}> {
  const dir = await mkdtemp(join(tmpdir(), 'plugboard-auth-'));
  return { dir, path: (name) => join(dir, name), cleanup: () => rm(dir, { recursive: true, force: true }) };
}

/** The plugin's config as the schema makes it (defaults applied) from what a test writes. */
export function authConfig(input: Record<string, unknown>) {
  return authConfigSchema.parse(input);
}

/** `Authorization: Bearer <token>`. */
export function bearer(token: string): Record<string, string> {
  return { authorization: `Bearer ${token}` };
}

/** A request context: a chat unless told otherwise, with the given headers. */
export function request(
  options: {
    operation?: Operation;
    model?: string;
    headers?: Record<string, string>;
    messages?: readonly string[];
    metadata?: Record<string, unknown>;
  } = {},
): ChatContext {
  const operation = options.operation ?? 'chat';
  const texts = options.messages ?? (operation === 'chat' || operation === 'generate' ? ['hi'] : []);
  return createChatContext({
    operation,
    ...(options.model === undefined ? {} : { model: options.model }),
    messages: texts.map((content) => ({ role: 'user', content })),
    client: { address: '127.0.0.1', headers: { 'content-type': 'application/json', ...options.headers } },
    ...(options.metadata === undefined ? {} : { metadata: options.metadata }),
  });
}

/** Runs a request through the authenticator. */
export async function admit(auth: Authenticator, context: ChatContext): Promise<Admission> {
  return auth.admit(context, silent);
}

/** The refusal's code and status, or `admitted` with the principal. */
export function outcomeOf(admission: Admission): { code: string; status: number; message: string } | ChatContext {
  if ('decision' in admission) {
    return { code: admission.error.code, status: admission.error.status, message: admission.error.message };
  }
  return admission;
}

/** An issuer's signing key pair, and tokens signed with it. */
export interface TokenIssuer {
  readonly kid: string;
  readonly publicJwk: JWK;
  readonly publicPem: string;
  sign(
    claims: JWTPayload,
    options?: { expiresIn?: string | number; issuer?: string; audience?: string },
  ): Promise<string>;
}

/** A fresh ES256 key pair (or RS256), signing tokens for `https://idp.test` / `plugboard` by default. */
export async function tokenIssuer(alg: 'ES256' | 'RS256' = 'ES256', kid = `key-${alg}`): Promise<TokenIssuer> {
  const { privateKey, publicKey } = await generateKeyPair(alg, { extractable: true });
  const publicJwk = { ...(await exportJWK(publicKey)), kid, alg, use: 'sig' };
  const publicPem = await exportSPKI(publicKey);
  return {
    kid,
    publicJwk,
    publicPem,
    sign: (claims, options = {}) => signWith(privateKey, alg, kid, claims, options),
  };
}

async function signWith(
  key: CryptoKey,
  alg: string,
  kid: string,
  claims: JWTPayload,
  options: { expiresIn?: string | number; issuer?: string; audience?: string },
): Promise<string> {
  return new SignJWT(claims)
    .setProtectedHeader({ alg, kid })
    .setIssuedAt()
    .setIssuer(options.issuer ?? 'https://idp.test')
    .setAudience(options.audience ?? 'plugboard')
    .setExpirationTime(options.expiresIn ?? '10m')
    .sign(key);
}

/** A real HTTP server on 127.0.0.1 serving `jwks` at /jwks.json, counting the fetches. */
export async function serveJwks(jwks: {
  keys: JWK[];
}): Promise<{ url: string; fetches: () => number; close: () => Promise<void> }> {
  let fetches = 0;
  const server = createServer((incoming, outgoing) => {
    if (incoming.url !== '/jwks.json') {
      outgoing.writeHead(404).end();
      return;
    }
    fetches++;
    outgoing.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(jwks));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/jwks.json`,
    fetches: () => fetches,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
