// `npm run build && npx ts-node --transpile-only bench/kill-during-writes.ts [sqlite|postgres]`
// Starts the real server, lets 16 clients save plans and PATCH their own plans, and kills the
// server with SIGKILL at a random moment, five times, restarting it on the same database each
// time. Then it checks the database's integrity (SQLite: PRAGMA integrity_check; PostgreSQL:
// amcheck's bt_index_check on every index where the extension can be created, and the tables'
// own consistency), that every acknowledged plan is there, and that every plan carries its last
// acknowledged PATCH or one sent after it (in flight at the kill), never an older one.
import Database from 'better-sqlite3';
import { execFileSync } from 'node:child_process';
import { Client } from 'pg';
import { setTimeout as sleep } from 'node:timers/promises';
import { Engine, TestDatabase, testDatabase } from '../test/support/databases';
import { freePort, ServerProcess, startServer, stopServer } from './support/server';

const KILLS = 5;
const CLIENTS = 16;
/** Saves acknowledged in a round before its kill is scheduled. */
const WRITES_BEFORE_KILL = 10;
/** The kill lands between these many milliseconds after that. */
const KILL_AFTER_MS = [500, 2500];

const PLAN = { model: 'llama-3.2-1b', cluster: { gpu: 'h100-80gb', nodes: 1, gpusPerNode: 8 } };

/** What the clients know: plans acknowledged (201), and per plan the PATCH versions sent and
 * acknowledged (200). */
interface Ledger {
  acknowledged: Set<string>;
  sentVersion: Map<string, number>;
  ackedVersion: Map<string, number>;
  patchesAcknowledged: number;
  requests: number;
  failures: number;
}

async function client(server: ServerProcess, ledger: Ledger, mine: string[]): Promise<void> {
  for (;;) {
    const patch = mine.length > 0 && Math.random() < 0.5;
    const id = mine[Math.floor(Math.random() * mine.length)];
    const version = patch ? (ledger.sentVersion.get(id) ?? 0) + 1 : 0;
    if (patch) ledger.sentVersion.set(id, version);
    let response: Response;
    let body: { id: string };
    try {
      ledger.requests += 1;
      response = patch
        ? await fetch(`${server.url}/api/v1/plans/${id}`, {
            method: 'PATCH',
            headers: { 'content-type': 'application/json' },
            body: JSON.stringify({ name: `v${version}`, tags: [`v${version}`] }),
          })
        : await fetch(`${server.url}/api/v1/plans`, {
            method: 'POST',
            headers: { 'content-type': 'application/json' },
            body: JSON.stringify({ ...PLAN, name: 'v0', tags: ['v0'] }),
          });
      body = (await response.json()) as { id: string };
    } catch {
      ledger.failures += 1;
      return; // the server is gone: nothing more is acknowledged
    }
    if (response.status === 201) {
      ledger.acknowledged.add(body.id);
      mine.push(body.id);
    } else if (patch && response.status === 200) {
      ledger.ackedVersion.set(id, Math.max(ledger.ackedVersion.get(id) ?? 0, version));
      ledger.patchesAcknowledged += 1;
    } else {
      throw new Error(`unexpected ${response.status}: ${JSON.stringify(body)}`);
    }
  }
}

async function sqliteIntegrity(path: string): Promise<string> {
  const db = new Database(path, { readonly: true });
  try {
    const rows = db.pragma('integrity_check') as { integrity_check: string }[];
    const count = (sql: string) => (db.prepare(sql).get() as { n: number }).n;
    const orphans = count(
      'SELECT COUNT(*) AS n FROM plan_tags WHERE plan_id NOT IN (SELECT id FROM plans)',
    );
    const mismatched = count(
      'SELECT COUNT(*) AS n FROM plans p WHERE (SELECT COUNT(*) FROM plan_tags t WHERE t.plan_id = p.id) <> json_array_length(p.tags)',
    );
    return `integrity_check ${rows.map((row) => row.integrity_check).join(', ')}; orphan tag rows ${orphans}; plans whose tag rows differ from their tags ${mismatched}`;
  } finally {
    db.close();
  }
}

/** psql as the machine's postgres account (amcheck needs a superuser), or undefined. */
function asSuperuser(database: string, sql: string): string | undefined {
  try {
    return execFileSync('su', ['postgres', '-c', `psql -X -q -t -A -d ${database} -c "${sql}"`], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'pipe'],
    });
  } catch (error) {
    const stderr = (error as { stderr?: string }).stderr ?? '';
    if (sql.startsWith('CREATE')) return undefined;
    throw new Error(`amcheck found a problem: ${stderr.trim()}`);
  }
}

/** amcheck's bt_index_check on every index of the schema (an ERROR means a corrupt index). */
function checkIndexes(database: string): string {
  if (asSuperuser(database, 'CREATE EXTENSION IF NOT EXISTS amcheck') === undefined) {
    return 'amcheck not available (needs the postgres account)';
  }
  const checked = asSuperuser(
    database,
    `SELECT COUNT(bt_index_check(c.oid, true)) FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = 'public'`,
  );
  return `bt_index_check ok on ${checked?.trim()} indexes`;
}

async function postgresIntegrity(url: string): Promise<string> {
  const indexes = checkIndexes(new URL(url).pathname.slice(1));
  const db = new Client({ connectionString: url });
  await db.connect();
  try {
    const orphans = await db.query(
      'SELECT COUNT(*) AS n FROM plan_tags WHERE plan_id NOT IN (SELECT id FROM plans)',
    );
    const mismatched = await db.query(
      `SELECT COUNT(*) AS n FROM plans p WHERE (SELECT COUNT(*) FROM plan_tags t WHERE t.plan_id = p.id) <> jsonb_array_length(p.tags)`,
    );
    return `${indexes}; orphan tag rows ${orphans.rows[0].n}; plans whose tag rows differ from their tags ${mismatched.rows[0].n}`;
  } finally {
    await db.end();
  }
}

async function verify(
  server: ServerProcess,
  ledger: Ledger,
): Promise<{ lost: number; stale: number }> {
  let lost = 0;
  let stale = 0;
  for (const id of ledger.acknowledged) {
    const response = await fetch(`${server.url}/api/v1/plans/${id}`);
    if (response.status !== 200) {
      lost += 1;
      continue;
    }
    const plan = (await response.json()) as { name: string; tags: string[] };
    const stored = Number(plan.name.slice(1));
    const acked = ledger.ackedVersion.get(id) ?? 0;
    const sent = ledger.sentVersion.get(id) ?? 0;
    if (stored < acked || stored > sent || plan.tags[0] !== plan.name) stale += 1;
  }
  return { lost, stale };
}

async function main(): Promise<void> {
  const engine = (process.argv[2] ?? 'sqlite') as Engine;
  const database: TestDatabase = await testDatabase(engine);
  const port = await freePort();
  const ledger: Ledger = {
    acknowledged: new Set(),
    sentVersion: new Map(),
    ackedVersion: new Map(),
    patchesAcknowledged: 0,
    requests: 0,
    failures: 0,
  };
  const owned: string[][] = Array.from({ length: CLIENTS }, () => []);
  try {
    for (let kill = 1; kill <= KILLS; kill++) {
      const server = await startServer(port, database.env);
      const clients = owned.map((mine) => client(server, ledger, mine));
      // Writes are flowing once a few are acknowledged; the kill lands at a random moment after.
      const before = ledger.acknowledged.size;
      while (ledger.acknowledged.size < before + WRITES_BEFORE_KILL) await sleep(10);
      const delay = KILL_AFTER_MS[0] + Math.random() * (KILL_AFTER_MS[1] - KILL_AFTER_MS[0]);
      await sleep(delay);
      await stopServer(server, 'SIGKILL');
      await Promise.all(clients);
      console.log(
        `kill ${kill} ${delay.toFixed(0)} ms into the writes: ${ledger.acknowledged.size} plans acknowledged so far`,
      );
    }
    const integrity =
      engine === 'sqlite'
        ? await sqliteIntegrity(database.env.DATABASE_PATH!)
        : await postgresIntegrity(database.env.DATABASE_URL!);
    const server = await startServer(port, database.env);
    try {
      const { lost, stale } = await verify(server, ledger);
      console.log(
        `${engine}: ${KILLS} x SIGKILL during writes; ${ledger.requests} requests, ${ledger.acknowledged.size} plans and ${ledger.patchesAcknowledged} PATCHes acknowledged`,
      );
      console.log(
        `  acknowledged plans lost: ${lost}; plans behind their last acknowledged PATCH: ${stale}`,
      );
      console.log(`  ${integrity}`);
    } finally {
      await stopServer(server, 'SIGTERM');
    }
  } finally {
    await database.remove();
  }
}

void main();
