import { createPublicKey, type KeyObject } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { createLocalJWKSet, createRemoteJWKSet, type JWTVerifyGetKey, type JWTVerifyOptions, jwtVerify } from 'jose';
import type { JwtConfig } from './config.ts';
import { isScope, type Scope } from './scopes.ts';

/** Who a valid token names, and what it may do. */
export interface JwtIdentity {
  readonly subject: string;
  readonly issuer: string | undefined;
  /** The Plugboard scopes among the token's scopes claim (others are ignored). */
  readonly scopes: readonly Scope[];
}

/** What checking a token found. `reason` is safe to show the client: it never quotes the token. */
export type JwtOutcome =
  | { readonly status: 'valid'; readonly identity: JwtIdentity }
  | { readonly status: 'expired' }
  | { readonly status: 'invalid'; readonly reason: string };

/** Checks bearer tokens against the configured issuer, audience and keys. */
export interface JwtVerifier {
  /** Where the verification keys come from, for the health report. */
  readonly keySource: 'jwks_file' | 'jwks_url' | 'public_key';
  /**
   * A token's outcome. @throws when the keys cannot be had (the JWKS URL unreachable, timing out
   * or serving no valid key set): a failure of the plugin, not of the caller — with the plugin
   * fail-closed the request is refused with 503, never let through.
   */
  verify(token: string): Promise<JwtOutcome>;
}

/** Three base64url segments: the compact form of a JWS. Plugboard's own keys (`pb_…`) have no dots. */
const COMPACT_JWS = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$/;

/**
 * True when `token` has the shape of a JWT (so it is verified as one rather than looked up as a key).
 *
 * @example
 * ```ts
 * looksLikeJwt('eyJhbGciOi….eyJzdWIiOi….sig'); // true
 * looksLikeJwt('pb_3q2-…'); // false
 * ```
 */
export function looksLikeJwt(token: string): boolean {
  return COMPACT_JWS.test(token);
}

/**
 * A verifier for the `jwt:` section: keys from a JWKS file (read now), a JWKS URL (fetched
 * when first needed, cached and refreshed by jose when an unknown `kid` appears), or one PEM
 * public key. Tokens must carry `sub` and `exp`, the configured `iss` and `aud`, and be signed
 * with one of `algorithms` (never `none`, never an HMAC).
 *
 * @example
 * ```ts
 * const verifier = await createJwtVerifier(config.jwt);
 * const outcome = await verifier.verify(token);
 * ```
 * @throws Error when the JWKS file or the public key cannot be used.
 */
export async function createJwtVerifier(config: JwtConfig): Promise<JwtVerifier> {
  const options: JWTVerifyOptions = {
    issuer: config.issuer,
    audience: config.audience,
    algorithms: [...config.algorithms],
    clockTolerance: config.clock_tolerance_seconds,
    requiredClaims: ['sub', 'exp'],
  };
  const { key, keySource } = await verificationKey(config);
  return {
    keySource,
    async verify(token) {
      try {
        const { payload } =
          typeof key === 'function' ? await jwtVerify(token, key, options) : await jwtVerify(token, key, options);
        return {
          status: 'valid',
          identity: {
            subject: String(payload.sub),
            issuer: payload.iss,
            scopes: scopesOf(payload[config.scopes_claim]),
          },
        };
      } catch (error) {
        return refusal(error, keySource === 'jwks_url');
      }
    },
  };
}

async function verificationKey(
  config: JwtConfig,
): Promise<{ key: KeyObject | JWTVerifyGetKey; keySource: JwtVerifier['keySource'] }> {
  if (config.jwks_url !== undefined) {
    return {
      key: createRemoteJWKSet(new URL(config.jwks_url), { timeoutDuration: config.jwks_timeout_ms }),
      keySource: 'jwks_url',
    };
  }
  if (config.jwks_file !== undefined) {
    const path = config.jwks_file;
    try {
      return { key: createLocalJWKSet(JSON.parse(await readFile(path, 'utf8'))), keySource: 'jwks_file' };
    } catch (error) {
      throw new Error(`jwt.jwks_file ${path}: cannot use it as a JSON Web Key Set (${(error as Error).message})`);
    }
  }
  try {
    return { key: createPublicKey(config.public_key ?? ''), keySource: 'public_key' };
  } catch (error) {
    throw new Error(`jwt.public_key: not a usable PEM public key (${(error as Error).message})`);
  }
}

/** The Plugboard scopes of a claim: a space-separated string (OAuth's `scope`) or an array (`scp`, `roles`). */
function scopesOf(claim: unknown): Scope[] {
  const values = typeof claim === 'string' ? claim.split(/\s+/) : Array.isArray(claim) ? claim : [];
  const scopes = values.filter((value): value is Scope => typeof value === 'string' && isScope(value));
  return [...new Set(scopes)];
}

/**
 * A token jose refused, as an outcome. What a caller can cause must never be thrown: a throw
 * counts against the plugin's circuit breaker, and crafted tokens could then open it and lock
 * every caller out. Only a JWKS URL's own failures (unreachable, timeout, no valid key set) are
 * thrown on; with a local key every failure is about the token.
 */
function refusal(error: unknown, remote: boolean): JwtOutcome {
  const { code, claim, reason } = error as { code?: unknown; claim?: unknown; reason?: unknown };
  switch (code) {
    case 'ERR_JWT_EXPIRED':
      return { status: 'expired' };
    case 'ERR_JWT_CLAIM_VALIDATION_FAILED':
      return {
        status: 'invalid',
        reason:
          reason === 'missing'
            ? `the token has no "${String(claim)}" claim`
            : `the token's "${String(claim)}" claim is not accepted`,
      };
    case 'ERR_JWS_SIGNATURE_VERIFICATION_FAILED':
      return { status: 'invalid', reason: 'the token’s signature does not verify' };
    case 'ERR_JWKS_NO_MATCHING_KEY':
    case 'ERR_JWKS_MULTIPLE_MATCHING_KEYS':
      return { status: 'invalid', reason: 'no single key of the issuer matches the token' };
    case 'ERR_JOSE_ALG_NOT_ALLOWED':
    case 'ERR_JOSE_NOT_SUPPORTED':
      return { status: 'invalid', reason: 'the token’s signature algorithm is not accepted' };
    case 'ERR_JWS_INVALID':
    case 'ERR_JWT_INVALID':
      return { status: 'invalid', reason: 'the token is malformed' };
    default:
      if (remote) throw error;
      return { status: 'invalid', reason: 'the token cannot be verified with the configured key' };
  }
}
