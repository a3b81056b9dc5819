// `npm run bench:http`: requests a second through the real AppModule (on a temporary SQLite
// file) as a ratio of a bare NestJS route served by the same process, measured by the same
// client (autocannon, in a child process so it does not share the servers' thread) with the same
// connections, in alternating rounds so a noisy machine moves both alike.
// "memo" rows repeat one request: the engine's simulation memo answers after the first.
// "cold" rows change the sequence length on every request, so every plan is simulated anew.
import { Body, Controller, Get, Module, Post } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import type { NestExpressApplication } from '@nestjs/platform-express';
import autocannon from 'autocannon';
import { ChildProcess, fork } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AppModule } from '../src/app.module';
import { API_PREFIX, configureApp } from '../src/common/configure-app';
import { median, printTable } from './support';

// Seconds per round, rounds per case, and connections: the same for the bare route and the app.
const ROUND_SECONDS = 2;
const ROUNDS = 5;
const CONNECTIONS = 10;
// Cold requests step the sequence length so no two plans share a simulation.
const COLD_FIRST_SEQUENCE = 2048;
const COLD_SEQUENCE_STEP = 8;

/** What the client child runs for one round. */
interface Round {
  url: string;
  method: 'GET' | 'POST';
  body?: string;
  cold: boolean;
}

interface RoundResult {
  requests: number;
  seconds: number;
  non2xx: number;
  errors: number;
}

@Controller('bare')
class BareController {
  @Get()
  read(): { ok: boolean } {
    return { ok: true };
  }

  @Post()
  write(@Body() body: Record<string, unknown>): { ok: boolean; fields: number } {
    return { ok: true, fields: Object.keys(body).length };
  }
}

@Module({ controllers: [BareController] })
class BareModule {}

/** One round from the client side: autocannon against `round.url`. */
async function runRound(round: Round): Promise<RoundResult> {
  let sequence = COLD_FIRST_SEQUENCE;
  const base = round.body
    ? (JSON.parse(round.body) as { training?: object } & Record<string, unknown>)
    : undefined;
  const result = await autocannon({
    url: round.url,
    method: round.method,
    connections: CONNECTIONS,
    duration: ROUND_SECONDS,
    headers: { 'content-type': 'application/json' },
    body: round.body,
    requests: [
      {
        setupRequest: (request) => {
          if (!round.cold || !base) return request;
          sequence += COLD_SEQUENCE_STEP;
          const training = { ...base.training, sequenceLength: sequence };
          return { ...request, body: JSON.stringify({ ...base, training }) };
        },
      },
    ],
  });
  return {
    requests: result.requests.total,
    seconds: result.duration,
    non2xx: result.non2xx,
    errors: result.errors,
  };
}

/** The client child: runs rounds as the parent sends them. */
function serveRounds(): void {
  process.on('message', (round: Round) => {
    runRound(round).then(
      (result) => process.send!(result),
      (error: unknown) => process.send!({ error: String(error) }),
    );
  });
}

function clientOf(child: ChildProcess) {
  return (round: Round) =>
    new Promise<RoundResult>((resolve, reject) => {
      child.once('message', (answer: RoundResult & { error?: string }) =>
        answer.error ? reject(new Error(answer.error)) : resolve(answer),
      );
      child.send(round);
    });
}

const LLAMA_8B = {
  model: 'llama-3-8b',
  cluster: { gpu: 'h100-80gb', nodes: 1, gpusPerNode: 8 },
  training: { sequenceLength: 4096, microBatchSize: 1 },
  parallelism: { zeroStage: 3 },
};
const LLAMA_405B_PIPELINE = {
  model: 'llama-3.1-405b',
  cluster: { gpu: 'h100-80gb', nodes: 16, gpusPerNode: 8 },
  training: {
    sequenceLength: 8192,
    microBatchSize: 1,
    gradientAccumulationSteps: 128,
    activationCheckpointing: 'full',
  },
  parallelism: { tensorParallel: 8, pipelineParallel: 16, sequenceParallel: true },
};

interface Case {
  label: string;
  method: 'GET' | 'POST';
  path: string;
  body?: object;
  cold?: boolean;
}

const CASES: Case[] = [
  {
    label: 'estimate Llama-3-8B, 8 x H100 (memo)',
    method: 'POST',
    path: 'plans/estimate',
    body: LLAMA_8B,
  },
  {
    label: 'estimate Llama-3-8B, 8 x H100 (cold)',
    method: 'POST',
    path: 'plans/estimate',
    body: LLAMA_8B,
    cold: true,
  },
  {
    label: 'estimate 405B TP 8 x PP 16, 128 mb (memo)',
    method: 'POST',
    path: 'plans/estimate',
    body: LLAMA_405B_PIPELINE,
  },
  {
    label: 'estimate 405B TP 8 x PP 16, 128 mb (cold)',
    method: 'POST',
    path: 'plans/estimate',
    body: LLAMA_405B_PIPELINE,
    cold: true,
  },
  {
    label: 'save Llama-3-8B (memo)',
    method: 'POST',
    path: 'plans',
    body: { ...LLAMA_8B, name: 'bench' },
  },
  { label: 'list 50 saved plans', method: 'GET', path: 'plans?limit=50' },
];

async function measure(
  client: (round: Round) => Promise<RoundResult>,
  app: string,
  bare: string,
  item: Case,
): Promise<string[]> {
  const body = item.body ? JSON.stringify(item.body) : undefined;
  const url = `${app}/${API_PREFIX}/${item.path}`;
  const probe = await fetch(url, {
    method: item.method,
    body,
    headers: body ? { 'content-type': 'application/json' } : undefined,
  });
  if (!probe.ok) {
    const problem = (await probe.text()).slice(0, 80);
    return [item.label, 'error', '', '', '', `HTTP ${probe.status}: ${problem}`];
  }
  // Each round of the app is set against the bare round just before it; the median pair is
  // printed, with the range, so one round hit by another process's load does not decide it.
  const ratios: number[] = [];
  const rates: number[] = [];
  const bareRates: number[] = [];
  let failed = 0;
  for (let i = 0; i < ROUNDS; i++) {
    const baseline = await client({ url: `${bare}/bare`, method: item.method, body, cold: false });
    const measured = await client({ url, method: item.method, body, cold: item.cold ?? false });
    // Requests the client gave up on at the round's end still run on the shared event loop: the
    // next bare round starts once the app answers again, so it is not starved by them.
    await fetch(`${app}/${API_PREFIX}/health`);
    rates.push(measured.requests / measured.seconds);
    bareRates.push(baseline.requests / baseline.seconds);
    ratios.push(rates[i] / bareRates[i]);
    failed += measured.non2xx + measured.errors;
  }
  const percent = (ratio: number) => `${(100 * ratio).toFixed(1)}%`;
  return [
    item.label,
    median(rates).toFixed(1),
    median(bareRates).toFixed(0),
    percent(median(ratios)),
    `${percent(Math.min(...ratios))}-${percent(Math.max(...ratios))}`,
    failed > 0 ? `${failed} failed` : '',
  ];
}

async function main(): Promise<void> {
  const folder = mkdtempSync(join(tmpdir(), 'shardplan-bench-'));
  process.env.DATABASE_PATH = join(folder, 'shardplan.sqlite');
  const logger = ['error', 'warn'] as ('error' | 'warn')[];
  const app = await NestFactory.create<NestExpressApplication>(AppModule, { logger });
  configureApp(app);
  await app.listen(0);
  const bare = await NestFactory.create<NestExpressApplication>(BareModule, { logger });
  await bare.listen(0);
  const child = fork(__filename, ['client'], {
    execArgv: ['-r', 'ts-node/register/transpile-only'],
  });
  try {
    const client = clientOf(child);
    const rows: string[][] = [];
    const urlOf = (server: NestExpressApplication) =>
      `http://127.0.0.1:${(server.getHttpServer().address() as AddressInfo).port}`;
    // `npm run bench:http -- memo` measures only the cases whose label contains "memo".
    const only = process.argv[2];
    const cases = only ? CASES.filter((item) => item.label.includes(only)) : CASES;
    for (const item of cases) rows.push(await measure(client, urlOf(app), urlOf(bare), item));
    console.log(
      `HTTP: ${CONNECTIONS} connections, ${ROUNDS} alternating rounds of ${ROUND_SECONDS} s per case; req/s and ratio are medians over the rounds\n`,
    );
    printTable(['case', 'req/s', 'bare req/s', 'ratio', 'range', 'notes'], rows);
  } finally {
    child.kill();
    await app.close();
    await bare.close();
    rmSync(folder, { recursive: true, force: true });
  }
}

if (process.argv[2] === 'client') serveRounds();
else
  main().catch((error: unknown) => {
    console.error(error);
    process.exit(1);
  });
