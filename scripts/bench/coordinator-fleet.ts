// The coordinator bench's fleet (scripts/bench/coordinator.ts), shared with its in-process
// pass timer (coordinator-pass.mjs): 20 teams of developers and servers, and up to 20 shared
// services every developer reaches, so one policy change alters every system's map.

export const TEAMS = 20;
export const SHARED = 20;

export interface Member {
  tag: string;
  hostname: string;
}

/** fleet lists n systems' tags and hostnames: the shared services first, then the teams. */
export function fleet(n: number): Member[] {
  const out: Member[] = [];
  const shared = Math.min(SHARED, Math.max(1, Math.floor(n / 100)));
  for (let i = 0; i < shared; i++) out.push({ tag: 'shared', hostname: `shared-${i}` });
  for (let i = 0; out.length < n; i++) {
    const team = i % TEAMS;
    const isServer = Math.floor(i / TEAMS) % 10 === 0;
    out.push({ tag: `t${team}-${isServer ? 'srv' : 'dev'}`, hostname: `t${team}-${isServer ? 'srv' : 'dev'}-${i}` });
  }
  return out;
}

/** policy is the fleet's policy file; extraPort opens one more port per rule, which changes
 * every system's map. */
export function policy(extraPort: boolean): string {
  const tags = ['shared'];
  const policies: unknown[] = [];
  const devs: string[] = [];
  for (let t = 0; t < TEAMS; t++) {
    tags.push(`t${t}-dev`, `t${t}-srv`);
    devs.push(`tag:t${t}-dev`);
    policies.push({
      Name: `team ${t}`,
      Senders: [`tag:t${t}-dev`],
      Receivers: [`tag:t${t}-srv`],
      Acls: [{ Protocol: 'tcp', Ports: extraPort ? '22,443,8080' : '22,443' }, { Protocol: 'icmp' }],
    });
  }
  policies.push({
    Name: 'shared services',
    Senders: devs,
    Receivers: ['tag:shared'],
    Acls: [
      { Protocol: 'udp', Ports: '53' },
      { Protocol: 'tcp', Ports: extraPort ? '443,8443' : '443' },
    ],
  });
  return JSON.stringify(
    { Tags: tags, Policies: policies, Dns: { Records: [{ Name: 'shared', Targets: ['tag:shared'] }] } },
    null,
    2,
  );
}
