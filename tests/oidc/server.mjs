// A tiny, real OpenID Connect provider (npm `oidc-provider`) for the social-login test.
//
// It listens on 127.0.0.1 on a free port, prints one JSON line {"issuer": ...} on stdout when ready,
// knows one static confidential client and one test account, and signs that account in and grants
// consent automatically, so a test can walk the whole authorization-code flow without a browser.
//
// Environment: OIDC_CLIENT_ID, OIDC_CLIENT_SECRET, OIDC_REDIRECT_URIS (space separated),
// OIDC_ACCOUNT_EMAIL, OIDC_ACCOUNT_GIVEN_NAME, OIDC_ACCOUNT_FAMILY_NAME, OIDC_PORT (0 = any free port).
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import http from 'node:http';

import Provider from 'oidc-provider';

const env = (name, fallback) => process.env[name] ?? fallback;

const account = {
  sub: 'test-account-1',
  email: env('OIDC_ACCOUNT_EMAIL', 'social.user@example.com'),
  email_verified: true,
  given_name: env('OIDC_ACCOUNT_GIVEN_NAME', 'Sofia'),
  family_name: env('OIDC_ACCOUNT_FAMILY_NAME', 'Social'),
};
account.name = `${account.given_name} ${account.family_name}`;

// A fresh signing key per run: the relying party reads it from jwks_uri like it would in production.
const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
const signingKey = { ...privateKey.export({ format: 'jwk' }), kid: 'test-signing-key', use: 'sig', alg: 'RS256' };

let provider;
const server = http.createServer((req, res) => {
  if (req.url.startsWith('/interaction/')) {
    interact(req, res).catch((err) => {
      console.error(err);
      res.statusCode = 500;
      res.end(String(err));
    });
    return;
  }
  provider.callback()(req, res);
});

// Signs the test account in, then grants every scope and claim the client asked for.
async function interact(req, res) {
  const { prompt, params, session, grantId } = await provider.interactionDetails(req, res);
  if (prompt.name === 'login') {
    await provider.interactionFinished(req, res, { login: { accountId: account.sub } }, { mergeWithLastSubmission: false });
    return;
  }
  const grant = grantId
    ? await provider.Grant.find(grantId)
    : new provider.Grant({ accountId: session.accountId, clientId: params.client_id });
  const { details } = prompt;
  if (details.missingOIDCScope) grant.addOIDCScope(details.missingOIDCScope.join(' '));
  if (details.missingOIDCClaims) grant.addOIDCClaims(details.missingOIDCClaims);
  for (const [indicator, scopes] of Object.entries(details.missingResourceScopes ?? {})) {
    grant.addResourceScope(indicator, scopes.join(' '));
  }
  await provider.interactionFinished(req, res, { consent: { grantId: await grant.save() } }, { mergeWithLastSubmission: true });
}

server.listen(Number(env('OIDC_PORT', '0')), '127.0.0.1', () => {
  const issuer = `http://127.0.0.1:${server.address().port}`;
  provider = new Provider(issuer, {
    clients: [
      {
        client_id: env('OIDC_CLIENT_ID', 'nexuscart-test'),
        client_secret: env('OIDC_CLIENT_SECRET', 'nexuscart-test-secret'),
        redirect_uris: env('OIDC_REDIRECT_URIS', '').split(' ').filter(Boolean),
        grant_types: ['authorization_code'],
        response_types: ['code'],
        token_endpoint_auth_method: 'client_secret_basic',
      },
    ],
    claims: {
      openid: ['sub'],
      email: ['email', 'email_verified'],
      profile: ['name', 'given_name', 'family_name'],
    },
    scopes: ['openid', 'email', 'profile'],
    async findAccount(ctx, sub) {
      if (sub !== account.sub) return undefined;
      return { accountId: sub, claims: async () => ({ ...account }) };
    },
    interactions: { url: (ctx, interaction) => `/interaction/${interaction.uid}` },
    features: { devInteractions: { enabled: false } },
    jwks: { keys: [signingKey] },
    cookies: { keys: [randomBytes(32).toString('hex')] },
    pkce: { required: () => true },
  });
  process.stdout.write(`${JSON.stringify({ issuer })}\n`);
});

for (const signal of ['SIGTERM', 'SIGINT']) {
  process.on(signal, () => server.close(() => process.exit(0)));
}
