// `npx ts-node --transpile-only bench/fuzz.ts [requests] [seed] [sqlite|postgres]`: the suite's
// fuzzer at full size against the real AppModule. Prints how many requests got each status,
// the 5xx answers and the failed writes that changed saved data (both should be 0).
import request from 'supertest';
import { startApp } from '../test/support/app';
import { Engine, testDatabase } from '../test/support/databases';
import { runFuzz } from '../test/support/fuzz';

async function main(): Promise<void> {
  const requests = Number(process.argv[2] ?? 36_000);
  const seed = Number(process.argv[3] ?? 24);
  const engine = (process.argv[4] ?? 'sqlite') as Engine;
  const database = await testDatabase(engine);
  const app = await startApp(database);
  const started = Date.now();
  try {
    const report = await runFuzz(() => request(app.getHttpServer()), requests, seed);
    const seconds = (Date.now() - started) / 1000;
    console.log(`${engine}, seed ${seed}: ${report.requests} requests in ${seconds.toFixed(0)} s`);
    console.log('answers by status:', JSON.stringify(report.byStatus));
    console.log(`5xx answers: ${report.serverErrors.length}`);
    console.log(`failed writes that changed saved data: ${report.changedOnError.length}`);
    for (const failure of [...report.serverErrors, ...report.changedOnError].slice(0, 10)) {
      console.log(JSON.stringify(failure).slice(0, 2000));
    }
  } finally {
    await app.close();
    await database.remove();
  }
}

void main();
