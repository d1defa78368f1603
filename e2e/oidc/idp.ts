// A real OpenID Connect provider for the sign-in tests: the oidc-provider package (a certified
// implementation), with its development login and consent pages, two users and a confidential
// client for the coordinator. Run as a program so it can live in a network namespace:
//   node idp.js ISSUER_URL LISTEN_HOST LISTEN_PORT CONFIG.json
// CONFIG.json: { "jwks": {keys: [private JWK]}, "clientSecret": "...", "redirectUri": "..." }.
// It prints "idp ready" once it listens.
import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import Provider from 'oidc-provider';

/** TEST_USERS are who can sign in: the login name is the account id (and the ID token's sub). */
export const TEST_USERS: Record<string, { email: string; groups: string[] }> = {
  alice: { email: 'alice@example.com', groups: ['eng', 'Staff'] },
  bob: { email: 'bob@example.com', groups: [] },
};

/** TEST_CLIENT_ID is the coordinator's client id at this provider. */
export const TEST_CLIENT_ID = 'warren-coordinator';

async function main(): Promise<void> {
  const [issuer, host, port, configFile] = process.argv.slice(2);
  if (!issuer || !host || !port || !configFile) throw new Error('usage: idp.js ISSUER HOST PORT CONFIG.json');
  const cfg = JSON.parse(readFileSync(configFile, 'utf8')) as {
    jwks: { keys: object[] };
    clientSecret: string;
    redirectUri: string;
  };
  const provider = new Provider(issuer, {
    clients: [
      {
        client_id: TEST_CLIENT_ID,
        client_secret: cfg.clientSecret,
        redirect_uris: [cfg.redirectUri],
        grant_types: ['authorization_code'],
        response_types: ['code'],
        token_endpoint_auth_method: 'client_secret_basic',
      },
    ],
    jwks: cfg.jwks as never,
    claims: { openid: ['sub'], email: ['email', 'email_verified'], groups: ['groups'] },
    scopes: ['openid', 'email', 'groups'],
    // The claims go into the ID token itself, not only the userinfo endpoint.
    conformIdTokenClaims: false,
    pkce: { required: () => true },
    features: { devInteractions: { enabled: true } },
    async findAccount(_ctx, id) {
      const u = TEST_USERS[id];
      if (!u) return undefined;
      return {
        accountId: id,
        claims: async () => ({ sub: id, email: u.email, email_verified: true, groups: u.groups }),
      };
    },
  });
  // Plain http in a test namespace: oidc-provider would otherwise refuse insecure cookies.
  provider.proxy = true;
  const server = createServer(provider.callback());
  server.listen(Number(port), host, () => process.stdout.write('idp ready\n'));
  const stop = (): void => void server.close(() => process.exit(0));
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}

if (process.argv[1] && /idp\.(js|ts)$/.test(process.argv[1])) {
  main().catch((e: unknown) => {
    process.stderr.write(`idp: ${(e as Error).stack ?? String(e)}\n`);
    process.exit(1);
  });
}
