// `npm run build && npx ts-node --transpile-only bench/reproductions.ts [sqlite|postgres]`
// Sends each request of issue #24 to the real server while another client asks /health every
// 20 ms, and prints the status each got, how long it took, and /health's slowest answer during
// it. Every reproduction must be a 4xx in under a second while /health keeps answering.
import { REPRODUCTIONS, Reproduction } from '../test/support/reproductions';
import { Engine, testDatabase } from '../test/support/databases';
import { freePort, ServerProcess, startServer, stopServer } from './support/server';

async function send(server: ServerProcess, reproduction: Reproduction): Promise<number> {
  const headers: Record<string, string> =
    reproduction.method === 'GET' ? {} : { 'content-type': 'application/json' };
  const response = await fetch(`${server.url}${reproduction.path}`, {
    method: reproduction.method,
    headers: { ...headers, ...reproduction.headers },
    body:
      reproduction.method === 'GET'
        ? undefined
        : (reproduction.raw ?? JSON.stringify(reproduction.body)),
  });
  await response.arrayBuffer();
  return response.status;
}

/** Asks /health every 20 ms until stopped; resolves to its slowest answer and how many failed. */
function watchHealth(server: ServerProcess): {
  stop: () => Promise<{ slowest: number; failed: number }>;
} {
  let running = true;
  let slowest = 0;
  let failed = 0;
  const loop = (async () => {
    while (running) {
      const started = performance.now();
      try {
        if (!(await fetch(`${server.url}/api/v1/health`)).ok) failed += 1;
      } catch {
        failed += 1;
      }
      slowest = Math.max(slowest, performance.now() - started);
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  })();
  return {
    stop: async () => {
      running = false;
      await loop;
      return { slowest, failed };
    },
  };
}

async function main(): Promise<void> {
  const engine = (process.argv[2] ?? 'sqlite') as Engine;
  const database = await testDatabase(engine);
  const server = await startServer(await freePort(), database.env);
  let worst = 0;
  let wrong = 0;
  try {
    console.log(`${engine}: status, time, slowest /health while it ran`);
    for (const reproduction of REPRODUCTIONS) {
      const health = watchHealth(server);
      const started = performance.now();
      const status = await send(server, reproduction);
      const milliseconds = performance.now() - started;
      const { slowest, failed } = await health.stop();
      worst = Math.max(worst, milliseconds);
      if (status !== reproduction.status) wrong += 1;
      console.log(
        `${status} ${milliseconds.toFixed(0).padStart(4)} ms  health max ${slowest.toFixed(0).padStart(3)} ms${failed ? ` (${failed} failed)` : ''}  ${reproduction.name}`,
      );
    }
    console.log(
      `${REPRODUCTIONS.length} reproductions: ${wrong} with another status than expected; slowest ${worst.toFixed(0)} ms`,
    );
  } finally {
    await stopServer(server, 'SIGTERM');
    await database.remove();
  }
}

void main();
