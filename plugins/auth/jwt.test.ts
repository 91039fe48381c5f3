/**
 * JWTs with jose: tokens signed by a fresh key pair, checked against a JWKS file, a PEM public
 * key, and a JWKS URL served by a real local HTTP server. Valid tokens give a principal with
 * the scopes of the scopes claim; a wrong issuer or audience, an expired token, a bad
 * signature, a missing claim, `alg: none` are refused with 401. An unreachable JWKS URL is a
 * failure of the plugin (thrown: fail-closed turns it into 503), not a 401.
 */
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { after, before, describe, test } from 'node:test';
import { UnsecuredJWT } from 'jose';
import { Authenticator } from './authenticator.ts';
import { createJwtVerifier, type JwtVerifier, looksLikeJwt } from './jwt.ts';
import { generateKey, hashKey } from './key-hash.ts';
import {
  admit,
  authConfig,
  bearer,
  outcomeOf,
  request,
  serveJwks,
  type TokenIssuer,
  tempFolder,
  tokenIssuer,
} from './testing/fixtures.ts';

const JWT = { issuer: 'https://idp.test', audience: 'plugboard' };

let issuer: TokenIssuer;
let stranger: TokenIssuer;
let folder: Awaited<ReturnType<typeof tempFolder>>;
let jwksFile: string;

before(async () => {
  issuer = await tokenIssuer('ES256');
  stranger = await tokenIssuer('ES256'); // same kid, another key: a forged signature
  folder = await tempFolder();
  jwksFile = folder.path('jwks.json');
  await writeFile(jwksFile, JSON.stringify({ keys: [issuer.publicJwk] }));
});
after(() => folder.cleanup());

function verifierFrom(source: Record<string, unknown>): Promise<JwtVerifier> {
  const config = authConfig({ jwt: { ...JWT, ...source } }).jwt;
  assert.ok(config);
  return createJwtVerifier(config);
}

describe('verifying tokens (JWKS file)', () => {
  let verifier: JwtVerifier;
  before(async () => {
    verifier = await verifierFrom({ jwks_file: jwksFile });
  });

  test('a valid token: its subject, issuer and Plugboard scopes (a space-separated scope claim)', async () => {
    const token = await issuer.sign({ sub: 'alice', scope: 'openid chat models chat' });
    assert.deepEqual(await verifier.verify(token), {
      status: 'valid',
      identity: { subject: 'alice', issuer: 'https://idp.test', scopes: ['chat', 'models'] },
    });
  });

  test('refused: wrong issuer, wrong audience, expired, bad signature, no sub, no exp, alg none, garbage', async () => {
    const unsigned = new UnsecuredJWT({ sub: 'alice', scope: 'chat' })
      .setIssuer(JWT.issuer)
      .setAudience(JWT.audience)
      .setExpirationTime('10m')
      .encode();
    const cases: [string, string, RegExp?][] = [
      ['wrong issuer', await issuer.sign({ sub: 'alice' }, { issuer: 'https://evil.test' }), /"iss" claim/],
      ['wrong audience', await issuer.sign({ sub: 'alice' }, { audience: 'other-app' }), /"aud" claim/],
      ['expired', await issuer.sign({ sub: 'alice' }, { expiresIn: Math.floor(Date.now() / 1000) - 60 })],
      ['bad signature', await stranger.sign({ sub: 'alice' }), /signature does not verify/],
      ['no sub', await issuer.sign({ scope: 'chat' }), /no "sub" claim/],
      ['alg none', unsigned, /algorithm is not accepted|malformed/],
      ['garbage', 'aaa.bbb.ccc', /malformed/],
    ];
    for (const [label, token, reason] of cases) {
      const outcome = await verifier.verify(token);
      if (label === 'expired') assert.deepEqual(outcome, { status: 'expired' }, label);
      else {
        assert.equal(outcome.status, 'invalid', label);
        assert.match(outcome.status === 'invalid' ? outcome.reason : '', reason!, label);
      }
    }
  });

  test('within clock_tolerance_seconds a just-expired token still passes', async () => {
    const lenient = await verifierFrom({ jwks_file: jwksFile, clock_tolerance_seconds: 120 });
    const token = await issuer.sign({ sub: 'alice' }, { expiresIn: Math.floor(Date.now() / 1000) - 60 });
    assert.equal((await lenient.verify(token)).status, 'valid');
  });

  test('scopes_claim names another claim, which may be an array', async () => {
    const scp = await verifierFrom({ jwks_file: jwksFile, scopes_claim: 'scp' });
    const token = await issuer.sign({ sub: 'bob', scp: ['embeddings', 'unknown', 42], scope: 'chat' });
    const outcome = await scp.verify(token);
    assert.deepEqual(outcome.status === 'valid' && outcome.identity.scopes, ['embeddings']);
  });

  test('algorithms limits the accepted signatures', async () => {
    const rsOnly = await verifierFrom({ jwks_file: jwksFile, algorithms: ['RS256'] });
    const outcome = await rsOnly.verify(await issuer.sign({ sub: 'alice' }));
    assert.equal(outcome.status, 'invalid');
  });

  test('config: exactly one key source, no HMAC algorithms; an unusable JWKS file or PEM stops the start', async () => {
    assert.throws(() => authConfig({ jwt: JWT }), /exactly one of jwks_file, jwks_url or public_key/);
    assert.throws(() => authConfig({ jwt: { ...JWT, jwks_file: 'a', public_key: 'b' } }), /exactly one of/);
    assert.throws(() => authConfig({ jwt: { ...JWT, jwks_file: 'a', algorithms: ['HS256'] } }), /HMAC algorithms/);
    await writeFile(folder.path('bad-jwks.json'), '{"nokeys": true}');
    await assert.rejects(verifierFrom({ jwks_file: folder.path('bad-jwks.json') }), /jwt\.jwks_file .*bad-jwks\.json/);
    await assert.rejects(
      verifierFrom({ public_key: '-----BEGIN PUBLIC KEY-----\nnot a key\n-----END PUBLIC KEY-----' }),
      /jwt\.public_key: not a usable PEM public key/,
    );
  });
});

test('a PEM public key (RS256)', async () => {
  const rsa = await tokenIssuer('RS256');
  const verifier = await verifierFrom({ public_key: rsa.publicPem });
  assert.equal((await verifier.verify(await rsa.sign({ sub: 'carol', scope: 'chat' }))).status, 'valid');
  assert.equal((await verifier.verify(await issuer.sign({ sub: 'carol' }))).status, 'invalid');
});

describe('a JWKS URL (a real local HTTP server)', () => {
  test('keys are fetched from the URL, cached, and a token from another key is refused', async () => {
    const jwks = await serveJwks({ keys: [issuer.publicJwk] });
    try {
      const verifier = await verifierFrom({ jwks_url: jwks.url });
      assert.equal(jwks.fetches(), 0, 'nothing fetched before the first token');
      for (let round = 0; round < 3; round++) {
        const outcome = await verifier.verify(await issuer.sign({ sub: 'dave', scope: ['chat'] }));
        assert.equal(outcome.status, 'valid');
      }
      assert.equal(jwks.fetches(), 1, 'cached');
      const forged = await verifier.verify(await stranger.sign({ sub: 'dave' }));
      assert.equal(forged.status, 'invalid');
    } finally {
      await jwks.close();
    }
  });

  test('an unreachable JWKS URL throws (a plugin failure, so fail-closed refuses), it is no 401', async () => {
    const jwks = await serveJwks({ keys: [] });
    await jwks.close();
    const verifier = await verifierFrom({ jwks_url: jwks.url, jwks_timeout_ms: 500 });
    await assert.rejects(verifier.verify(await issuer.sign({ sub: 'erin' })));
  });
});

describe('through the authenticator', () => {
  let auth: Authenticator;
  const apiKey = generateKey();
  before(async () => {
    auth = await Authenticator.create(
      authConfig({
        keys: [{ id: 'svc', hash: hashKey(apiKey), scopes: ['chat'] }],
        jwt: { ...JWT, jwks_file: jwksFile },
      }),
      {},
    );
  });

  test('a JWT gives a principal with the subject, the scopes as roles, and auth: jwt', async () => {
    const admitted = outcomeOf(
      await admit(auth, request({ headers: bearer(await issuer.sign({ sub: 'alice', scope: 'chat' })) })),
    );
    assert.ok(!('code' in admitted));
    assert.deepEqual(admitted.principal, {
      id: 'alice',
      roles: ['chat'],
      attributes: { auth: 'jwt', issuer: 'https://idp.test' },
    });
  });

  test('API keys still work next to JWTs; an expired token is auth/EXPIRED; a missing scope 403', async () => {
    const byKey = outcomeOf(await admit(auth, request({ headers: bearer(apiKey) })));
    assert.equal('principal' in byKey && byKey.principal?.id, 'svc');
    const expired = outcomeOf(
      await admit(
        auth,
        request({
          headers: bearer(await issuer.sign({ sub: 'a' }, { expiresIn: Math.floor(Date.now() / 1000) - 60 })),
        }),
      ),
    );
    assert.deepEqual('code' in expired && [expired.code, expired.status], ['auth/EXPIRED', 401]);
    const noScope = outcomeOf(
      await admit(
        auth,
        request({
          operation: 'embeddings',
          model: 'e',
          headers: bearer(await issuer.sign({ sub: 'a', scope: 'chat' })),
        }),
      ),
    );
    assert.deepEqual('code' in noScope && [noScope.code, noScope.status], ['auth/FORBIDDEN', 403]);
    const forged = outcomeOf(
      await admit(auth, request({ headers: bearer(await stranger.sign({ sub: 'a', scope: 'chat' })) })),
    );
    assert.deepEqual('code' in forged && [forged.code, forged.message], [
      'auth/UNAUTHENTICATED',
      'Invalid token: the token’s signature does not verify',
    ]);
  });

  test('looksLikeJwt tells tokens from Plugboard keys', () => {
    assert.equal(looksLikeJwt(generateKey()), false);
    assert.equal(looksLikeJwt('a.b.c'), true);
    assert.equal(looksLikeJwt('a.b'), false);
  });
});
