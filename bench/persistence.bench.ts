// `npm run build && npx ts-node --transpile-only bench/persistence.bench.ts [sqlite|postgres] [plans]`
// Fills a fresh database with 100,000 saved plans (bulk inserts of real PlanResults), starts the
// real server on it and prints: GET /plans?limit=50 latency on the first page, on a page
// 99,950 plans deep by cursor and by offset; the CSV export of every plan streamed, its time,
// the server's resident-memory growth while it streams, and /health's slowest answer meanwhile.
// Targets (issue #26): a list under 20 ms, the export under 5 s with flat memory.
import { randomUUID } from 'node:crypto';
import { DataSource } from 'typeorm';
import { estimatePlan } from '../src/application/estimate';
import { loadCatalog } from '../src/catalog/catalog';
import { appConfig } from '../src/config/app-config';
import { databaseOptions } from '../src/database/database-options';
import { migrate } from '../src/database/migrate';
import { writeTransaction } from '../src/database/transactions';
import type { PlanRequestInput, PlanResult } from '../src/engine';
import { encodeCursor } from '../src/plans/plan-cursor';
import { PlanTagEntity } from '../src/plans/plan-tag.entity';
import { PlanEntity } from '../src/plans/plan.entity';
import { PlanColumns, toEntity } from '../src/plans/typeorm-plans.repository';
import { Engine, testDatabase } from '../test/support/databases';
import {
  freePort,
  quantile,
  residentBytes,
  ServerProcess,
  startServer,
  stopServer,
} from './support/server';

const ROWS_PER_TRANSACTION = 1000;
/** Timed requests per figure: enough for a median and a 95th percentile. */
const SAMPLES = 40;

/** A few real plans of different shapes, so rows look like what users save. */
function templates(): PlanResult[] {
  const catalog = loadCatalog();
  const requests: PlanRequestInput[] = [
    { model: 'llama-3.2-1b', cluster: { gpu: 'h100-80gb', nodes: 1, gpusPerNode: 8 } },
    {
      model: 'llama-3-70b',
      cluster: { gpu: 'h100-80gb', nodes: 4, gpusPerNode: 8 },
      parallelism: { zeroStage: 3, pipelineParallel: 4 },
      training: { gradientAccumulationSteps: 8, tokensToTrain: 1e9 },
    },
    { model: 'mixtral-8x7b', cluster: { gpu: 'a100-80gb', nodes: 2, gpusPerNode: 8 } },
    { model: 'llama-3-8b', cluster: { gpu: 'l40s' }, training: { method: 'qlora' } },
  ];
  return requests.map((request) => estimatePlan(request, catalog));
}

async function fill(dataSource: DataSource, count: number): Promise<void> {
  const results = templates();
  const newest = Date.now();
  for (let start = 0; start < count; start += ROWS_PER_TRANSACTION) {
    const rows: PlanColumns[] = [];
    const tags: { planId: string; tag: string }[] = [];
    for (let i = start; i < Math.min(count, start + ROWS_PER_TRANSACTION); i++) {
      const result = results[i % results.length];
      const id = randomUUID();
      const labels = ['bench', `group-${i % 10}`];
      rows.push(
        toEntity({
          id,
          name: `bench plan ${i}`,
          tags: labels,
          notes: null,
          // One second apart, oldest first, as plans saved over a day or so.
          createdAt: new Date(newest - (count - i) * 1000).toISOString(),
          modelId: result.model.id,
          gpuId: result.request.cluster.gpu,
          input: result.request,
          result,
        }) as PlanColumns,
      );
      tags.push(...labels.map((tag) => ({ planId: id, tag })));
    }
    await writeTransaction(dataSource, async (manager) => {
      // Chunks stay below SQLite's 32,766 bound parameters (13 columns a row).
      for (let i = 0; i < rows.length; i += 500)
        await manager.insert(PlanEntity, rows.slice(i, i + 500));
      for (let i = 0; i < tags.length; i += 1000)
        await manager.insert(PlanTagEntity, tags.slice(i, i + 1000));
    });
  }
}

/** The cursor of the page that starts `depth` plans from the newest. */
async function cursorAt(dataSource: DataSource, depth: number): Promise<string> {
  const order = dataSource.options.type === 'postgres' ? 'seq' : 'rowid';
  const [row] = (await dataSource.query(
    `SELECT created_at, ${order} AS position FROM plans ORDER BY created_at DESC, ${order} DESC LIMIT 1 OFFSET ${depth - 1}`,
  )) as { created_at: string | Date; position: number | string }[];
  const createdAt = row.created_at instanceof Date ? row.created_at.toISOString() : row.created_at;
  return encodeCursor({ createdAt, order: Number(row.position) });
}

async function timed(url: string): Promise<number> {
  const started = performance.now();
  const response = await fetch(url);
  await response.arrayBuffer();
  if (!response.ok) throw new Error(`${url}: ${response.status}`);
  return performance.now() - started;
}

async function latency(label: string, url: string): Promise<void> {
  await timed(url); // warm
  const samples: number[] = [];
  for (let i = 0; i < SAMPLES; i++) samples.push(await timed(url));
  console.log(
    `${label}: median ${quantile(samples, 0.5).toFixed(1)} ms, p95 ${quantile(samples, 0.95).toFixed(1)} ms`,
  );
}

/** Streams the export, reading chunks as they come, while sampling the server's memory and
 * timing /health; returns what a reader needs to judge "flat memory". */
async function exportCsv(
  server: ServerProcess,
  expectedRows: number,
  label: string,
): Promise<void> {
  const pid = server.child.pid!;
  const before = residentBytes(pid);
  let peak = before;
  let slowestHealth = 0;
  let sampling = true;
  const sampler = (async () => {
    while (sampling) {
      peak = Math.max(peak, residentBytes(pid));
      slowestHealth = Math.max(slowestHealth, await timed(`${server.url}/api/v1/health`));
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  })();
  const started = performance.now();
  const response = await fetch(`${server.url}/api/v1/plans/export.csv`);
  let bytes = 0;
  let lines = 0;
  for await (const chunk of response.body!) {
    bytes += chunk.length;
    for (const byte of chunk) if (byte === 10) lines++;
  }
  const seconds = (performance.now() - started) / 1000;
  sampling = false;
  await sampler;
  console.log(
    `${label}: ${lines - 1} plans (expected ${expectedRows}), ${(bytes / 2 ** 20).toFixed(1)} MiB in ${seconds.toFixed(2)} s`,
  );
  console.log(
    `  server resident memory ${(before / 2 ** 20).toFixed(0)} MiB before, peak ${(peak / 2 ** 20).toFixed(0)} MiB (+${((peak - before) / 2 ** 20).toFixed(1)} MiB); slowest /health meanwhile ${slowestHealth.toFixed(0)} ms`,
  );
}

async function main(): Promise<void> {
  const engine = (process.argv[2] ?? 'sqlite') as Engine;
  const count = Number(process.argv[3] ?? 100_000);
  const database = await testDatabase(engine);
  const dataSource = await new DataSource(
    databaseOptions(appConfig({ ...database.env } as NodeJS.ProcessEnv).database),
  ).initialize();
  try {
    await migrate(dataSource);
    const fillStarted = performance.now();
    await fill(dataSource, count);
    // What autovacuum does within a minute of such a load: statistics and the visibility map.
    if (engine === 'postgres') await dataSource.query('VACUUM (ANALYZE) plans, plan_tags');
    console.log(
      `${engine}: ${count} plans inserted in ${((performance.now() - fillStarted) / 1000).toFixed(0)} s`,
    );
    const deep = await cursorAt(dataSource, count - 50);
    const server = await startServer(await freePort(), database.env);
    try {
      const plans = `${server.url}/api/v1/plans`;
      await latency('list 50, first page', `${plans}?limit=50`);
      await latency(`list 50, ${count - 50} deep by cursor`, `${plans}?limit=50&cursor=${deep}`);
      await latency(
        `list 50, ${count - 50} deep by offset`,
        `${plans}?limit=50&offset=${count - 50}`,
      );
      await latency('list 50, first page of one tag of ten', `${plans}?limit=50&tag=group-3`);
      await exportCsv(server, count, 'CSV export');
      // A second export: memory that grew with the plans would grow again here.
      await exportCsv(server, count, 'again');
    } finally {
      await stopServer(server, 'SIGTERM');
    }
  } finally {
    await dataSource.destroy();
    // KEEP_DATABASE=1 leaves it for a look at the query plans (it prints where it is).
    if (process.env.KEEP_DATABASE) console.log('kept:', JSON.stringify(database.env));
    else await database.remove();
  }
}

void main();
