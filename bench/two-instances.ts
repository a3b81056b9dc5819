// `npm run build && npx ts-node --transpile-only bench/two-instances.ts [sqlite|postgres] [writes]`
// Two real server processes on one database (the same SQLite file, the same PostgreSQL
// database). Clients save 10,000 plans through both at once, then PATCH them through both at
// once (each plan from both sides), then read every plan back from both; a custom model added
// on one is planned with on the other. Prints the counts of each answer and the errors.
import { Engine, testDatabase } from '../test/support/databases';
import { freePort, inParallel, ServerProcess, startServer, stopServer } from './support/server';

/** Requests in flight at once, across both instances. */
const CONCURRENCY = 32;

const PLAN = { model: 'llama-3.2-1b', cluster: { gpu: 'h100-80gb', nodes: 1, gpusPerNode: 8 } };
const TINY_CONFIG = {
  model_type: 'llama',
  hidden_size: 256,
  intermediate_size: 688,
  num_hidden_layers: 2,
  num_attention_heads: 4,
  vocab_size: 1000,
};

async function call(
  server: ServerProcess,
  method: string,
  path: string,
  body?: unknown,
): Promise<{ status: number; body: Record<string, unknown> }> {
  const response = await fetch(`${server.url}${path}`, {
    method,
    headers: body === undefined ? {} : { 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await response.text();
  return {
    status: response.status,
    body: text ? (JSON.parse(text) as Record<string, unknown>) : {},
  };
}

/** Tallies answers by status and keeps the first few unexpected ones. */
class Tally {
  readonly byStatus: Record<number, number> = {};
  readonly unexpected: string[] = [];
  record(expected: number, answer: { status: number; body: unknown }): void {
    this.byStatus[answer.status] = (this.byStatus[answer.status] ?? 0) + 1;
    if (answer.status !== expected && this.unexpected.length < 5) {
      this.unexpected.push(`${answer.status} ${JSON.stringify(answer.body).slice(0, 300)}`);
    }
  }
  errors(expected: number): number {
    return Object.entries(this.byStatus)
      .filter(([status]) => Number(status) !== expected)
      .reduce((sum, [, n]) => sum + n, 0);
  }
}

function report(label: string, tally: Tally, expected: number, seconds: number): void {
  console.log(
    `${label}: ${JSON.stringify(tally.byStatus)} in ${seconds.toFixed(1)} s; errors ${tally.errors(expected)}`,
  );
  for (const line of tally.unexpected) console.log(`  ${line}`);
}

async function phase(
  label: string,
  expected: number,
  count: number,
  task: (i: number) => Promise<{ status: number; body: Record<string, unknown> }>,
): Promise<Record<string, unknown>[]> {
  const tally = new Tally();
  const started = performance.now();
  const answers = await inParallel(count, CONCURRENCY, async (i) => {
    const answer = await task(i);
    tally.record(expected, answer);
    return answer.body;
  });
  report(label, tally, expected, (performance.now() - started) / 1000);
  return answers;
}

async function main(): Promise<void> {
  const engine = (process.argv[2] ?? 'sqlite') as Engine;
  const writes = Number(process.argv[3] ?? 10_000);
  const database = await testDatabase(engine);
  const servers = [
    await startServer(await freePort(), database.env),
    await startServer(await freePort(), database.env),
  ];
  const on = (i: number) => servers[i % 2];
  try {
    console.log(
      `${engine}: two server processes on one database, ${CONCURRENCY} requests in flight`,
    );
    const saved = await phase(`${writes} saves`, 201, writes, (i) =>
      call(on(i), 'POST', '/api/v1/plans', { ...PLAN, name: `plan ${i}`, tags: ['two'] }),
    );
    const ids = saved.map((body) => body.id as string);
    // PATCHes i and i + 1 relabel the same plan, one through each instance, about at once.
    await phase(`${writes} PATCHes`, 200, writes, (i) =>
      call(on(i), 'PATCH', `/api/v1/plans/${ids[Math.floor(i / 2)]}`, {
        name: `patched through ${i % 2}`,
        tags: ['two', `via-${i % 2}`],
      }),
    );
    for (const instance of [0, 1]) {
      await phase(`${ids.length} reads through instance ${instance}`, 200, ids.length, (i) =>
        call(servers[instance], 'GET', `/api/v1/plans/${ids[i]}`),
      );
    }
    const totals = await Promise.all(
      servers.map((s) => call(s, 'GET', '/api/v1/plans?tag=two&limit=1')),
    );
    console.log(`plans listed by each instance: ${totals.map((t) => t.body.total).join(' and ')}`);
    const added = await call(servers[0], 'POST', '/api/v1/models', {
      id: 'tiny-two',
      config: TINY_CONFIG,
    });
    const used = await call(servers[1], 'POST', '/api/v1/plans/estimate', {
      ...PLAN,
      model: 'tiny-two',
    });
    console.log(
      `custom model added on instance 0: ${added.status}; planned with on instance 1: ${used.status} (model ${(used.body.model as { id: string } | undefined)?.id})`,
    );
  } finally {
    for (const server of servers) await stopServer(server, 'SIGTERM');
    await database.remove();
  }
}

void main();
