// Seeded fuzzing of every endpoint that takes a body or changes data, on both databases: no
// answer is a 5xx and no failed write changes what is saved. bench/fuzz.ts sends 36,000.
import { appPerSuite, expectProblem, testEngines } from './support/app';
import { runFuzz } from './support/fuzz';

/** Requests per database in the suite: a few thousand keep it within CI's time. */
const REQUESTS = Number(process.env.FUZZ_REQUESTS ?? 1500);
/** The seed; another one (FUZZ_SEED) explores other bodies, and a failure replays from it. */
const SEED = Number(process.env.FUZZ_SEED ?? 24);

/** Bodies the fuzzer once answered with a 5xx, kept so they stay fixed. */
const FINDINGS: [string, string, unknown][] = [
  [
    'a search with cluster.nodes null',
    '/api/v1/plans/search',
    { model: 'llama-3-8b', cluster: { gpu: 'h100-80gb', nodes: null } },
  ],
];

describe.each(testEngines())('fuzzed requests on %s', (engine) => {
  const { http } = appPerSuite(engine);

  it.each(FINDINGS)('answers %s with a 4xx', async (_, path, body) => {
    expectProblem(
      await http()
        .post(path)
        .send(body as object),
      400,
    );
  });

  it(`answers ${REQUESTS} fuzzed requests (seed ${SEED}) below 500, and failed writes save nothing`, async () => {
    const report = await runFuzz(http, REQUESTS, SEED);
    expect(report.requests).toBe(REQUESTS);
    expect(report.serverErrors).toEqual([]);
    expect(report.changedOnError).toEqual([]);
    // The mutations reach the planner, not only the shape checks: some requests succeed.
    expect(report.byStatus[200] ?? 0).toBeGreaterThan(0);
    expect(report.byStatus[201] ?? 0).toBeGreaterThan(0);
  }, 600_000);
});
