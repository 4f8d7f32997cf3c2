// A real OpenID Connect provider for the sign-on tests (the npm package oidc-provider).
//
//   node tests/oidc/provider.mjs --redirect-uri http://testserver/oidc/callback/
//
// It listens on 127.0.0.1 on a free port and prints one JSON line: {"issuer": ..., "port": ...}.
// One confidential client is registered (id "resolve", secret "resolve-test-secret") for the given
// redirect URI, and a second one ("other-app", "other-app-secret") that tests use to get a genuine
// token issued to some other application. Accounts live in memory and are set by the test, which also stands in for the
// person at the keyboard:
//
//   PUT /test/accounts/<id>   {"email": ..., "preferred_username": ..., "groups": [...]}
//   GET /interaction/<uid>?account=<id>   signs <id> in and consents, then resumes the flow
//
// Claims from the requested scopes go into the ID token as well as userinfo (as Entra ID puts
// "groups" in the ID token). ID tokens live RESOLVE_TEST_ID_TOKEN_TTL seconds (default 300).
import crypto from 'node:crypto';
import http from 'node:http';
import { parseArgs } from 'node:util';

import Provider from 'oidc-provider';

const { values: args } = parseArgs({
  options: {
    'redirect-uri': { type: 'string', multiple: true },
    'client-id': { type: 'string', default: 'resolve' },
    'client-secret': { type: 'string', default: 'resolve-test-secret' },
  },
});
if (!args['redirect-uri']?.length) {
  console.error('provider.mjs: give at least one --redirect-uri');
  process.exit(2);
}

const accounts = new Map();

const { privateKey } = crypto.generateKeyPairSync('rsa', { modulusLength: 2048 });
const signingKey = { ...privateKey.export({ format: 'jwk' }), kid: 'test-key-1', alg: 'RS256', use: 'sig' };

const server = http.createServer();
await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
const { port } = server.address();
const issuer = `http://127.0.0.1:${port}`;

const provider = new Provider(issuer, {
  clients: [
    {
      client_id: args['client-id'],
      client_secret: args['client-secret'],
      redirect_uris: args['redirect-uri'],
      grant_types: ['authorization_code'],
      response_types: ['code'],
      token_endpoint_auth_method: 'client_secret_post',
    },
    {
      client_id: 'other-app',
      client_secret: 'other-app-secret',
      redirect_uris: args['redirect-uri'],
      grant_types: ['authorization_code'],
      response_types: ['code'],
      token_endpoint_auth_method: 'client_secret_post',
    },
  ],
  jwks: { keys: [signingKey] },
  claims: {
    openid: ['sub'],
    email: ['email', 'email_verified'],
    profile: ['name', 'given_name', 'family_name', 'preferred_username'],
    groups: ['groups'],
  },
  conformIdTokenClaims: false,
  features: { devInteractions: { enabled: false } },
  interactions: { url: (_ctx, interaction) => `/interaction/${interaction.uid}` },
  ttl: { IdToken: Number(process.env.RESOLVE_TEST_ID_TOKEN_TTL || 300) },
  async findAccount(_ctx, id) {
    const claims = accounts.get(id);
    if (!claims) return undefined;
    return { accountId: id, claims: async () => ({ sub: id, ...claims }) };
  },
});
provider.on('server_error', (_ctx, error) => console.error('provider server_error', error));

async function readJson(req) {
  const chunks = [];
  for await (const chunk of req) chunks.push(chunk);
  return JSON.parse(Buffer.concat(chunks).toString('utf8') || '{}');
}

function reply(res, status, body) {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify(body));
}

async function completeInteraction(req, res, url) {
  const details = await provider.interactionDetails(req, res);
  const accountId = url.searchParams.get('account');
  if (!accounts.has(accountId)) return reply(res, 400, { error: `no account ${accountId}` });
  const { params } = details;
  const grant = new provider.Grant({ accountId, clientId: params.client_id });
  grant.addOIDCScope(params.scope);
  const grantId = await grant.save();
  await provider.interactionFinished(
    req,
    res,
    { login: { accountId }, consent: { grantId } },
    { mergeWithLastSubmission: false },
  );
}

const handle = provider.callback();
server.on('request', async (req, res) => {
  const url = new URL(req.url, issuer);
  try {
    const account = url.pathname.match(/^\/test\/accounts\/([^/]+)$/);
    if (account && req.method === 'PUT') {
      accounts.set(decodeURIComponent(account[1]), await readJson(req));
      return reply(res, 200, { ok: true });
    }
    if (/^\/interaction\/[^/]+$/.test(url.pathname) && req.method === 'GET') {
      return await completeInteraction(req, res, url);
    }
    return handle(req, res);
  } catch (error) {
    console.error(error);
    return reply(res, 500, { error: String(error) });
  }
});

process.on('SIGTERM', () => server.close(() => process.exit(0)));
console.log(JSON.stringify({ issuer, port }));
