// A real OpenID Provider for oxhub's login tests: node oidc-provider with an in-memory store
// and its development signing keys, on loopback. Settings come from the environment:
//   PORT            listen port (required)
//   REDIRECT_URIS   comma-separated redirect URIs registered for every client
//   AT_TTL          access token lifetime in seconds (default 3600)
// Clients: "hub" (secret in the body), "hub-basic" (HTTP Basic), "other" (a second relying
// party, to obtain id_tokens with someone else's audience). Users: alice (hub-users), bob
// (hub-admins), carol (no groups), dave (e-mail not verified). Every password is <name>pw.
// The login form is /interaction/<uid>; consent is automatic (a first-party client).
import http from 'node:http';
import Provider from 'oidc-provider';

const PORT = Number(process.env.PORT);
const ISSUER = `http://127.0.0.1:${PORT}`;
const REDIRECT_URIS = (process.env.REDIRECT_URIS || '').split(',').filter(Boolean);
const USERS = {
  alice: { groups: ['hub-users'], email_verified: true },
  bob: { groups: ['hub-admins', 'hub-users'], email_verified: true },
  carol: { groups: [], email_verified: true },
  dave: { groups: ['hub-users'], email_verified: false },
};
const client = (id, method) => ({
  client_id: id,
  client_secret: `${id}-secret`,
  redirect_uris: REDIRECT_URIS,
  grant_types: ['authorization_code', 'refresh_token'],
  response_types: ['code'],
  token_endpoint_auth_method: method,
});
const provider = new Provider(ISSUER, {
  clients: [
    client('hub', 'client_secret_post'),
    client('hub-basic', 'client_secret_basic'),
    client('other', 'client_secret_post'),
  ],
  scopes: ['openid', 'email', 'profile', 'groups', 'offline_access', 'read:org', 'user:email'],
  claims: {
    openid: ['sub'],
    email: ['email', 'email_verified'],
    profile: ['name', 'preferred_username'],
    groups: ['groups'],
  },
  findAccount: async (ctx, id) =>
    USERS[id] && {
      accountId: id,
      claims: async () => ({
        sub: id,
        email: `${id}@example.org`,
        email_verified: USERS[id].email_verified,
        name: `${id[0].toUpperCase()}${id.slice(1)} Tester`,
        preferred_username: id,
        groups: USERS[id].groups,
      }),
    },
  features: { devInteractions: { enabled: false } },
  pkce: { required: () => false },
  cookies: { keys: ['oxhub-test-only-cookie-key'] },
  ttl: { AccessToken: Number(process.env.AT_TTL || 3600) },
  clockTolerance: 0,
  // Claims the client asked for by scope go into the id_token too.
  conformIdTokenClaims: false,
  issueRefreshToken: async (ctx, c) => c.grantTypeAllowed('refresh_token'),
  interactions: { url: (ctx, interaction) => `/interaction/${interaction.uid}` },
  loadExistingGrant: async (ctx) => {
    const id = ctx.oidc.result?.consent?.grantId || ctx.oidc.session.grantIdFor(ctx.oidc.client.clientId);
    if (id) return ctx.oidc.provider.Grant.find(id);
    const grant = new ctx.oidc.provider.Grant({ clientId: ctx.oidc.client.clientId, accountId: ctx.oidc.session.accountId });
    grant.addOIDCScope('openid email profile groups offline_access read:org user:email');
    grant.addOIDCClaims(['email', 'email_verified', 'name', 'preferred_username', 'groups']);
    await grant.save();
    return grant;
  },
});
const callback = provider.callback();
const readBody = (req) =>
  new Promise((resolve) => {
    let body = '';
    req.on('data', (c) => (body += c));
    req.on('end', () => resolve(new URLSearchParams(body)));
  });
http
  .createServer(async (req, res) => {
    try {
      if (!req.url.startsWith('/interaction/')) return callback(req, res);
      const { uid } = await provider.interactionDetails(req, res);
      if (req.method === 'GET') {
        res.setHeader('content-type', 'text/html');
        return res.end(
          `<!doctype html><title>Test IdP</title><h1>Test IdP</h1><form method="post" action="/interaction/${uid}">` +
            `<label>Login <input name="login" id="idp-login"></label> ` +
            `<label>Password <input name="password" type="password" id="idp-password"></label> ` +
            `<button id="idp-submit">Sign in</button></form>`,
        );
      }
      const body = await readBody(req);
      const login = body.get('login');
      if (!USERS[login] || body.get('password') !== `${login}pw`) {
        res.statusCode = 403;
        return res.end('invalid credentials');
      }
      await provider.interactionFinished(req, res, { login: { accountId: login } }, { mergeWithLastSubmission: false });
    } catch (e) {
      res.statusCode = 500;
      res.end(String(e));
    }
  })
  .listen(PORT, '127.0.0.1', () => console.log(`oidc provider listening on ${ISSUER}`));
