// The simulation threads return what simulating on this thread returns, and planning after
// simulateAhead finds every rank remembered.
import { loadCatalog, resolveGpu, resolveModel } from '../catalog/catalog';
import {
  isRankSimulationRemembered,
  normalizeRequest,
  PlanRequestInput,
  rankSimulationJobs,
  runRankSimulationJob,
} from '../engine';
import { estimatePlan, simulateAhead } from './estimate';
import { SimulationThreads } from './simulation-threads';

const catalog = loadCatalog();
const threads = new SimulationThreads(2);
afterAll(() => threads.close());

// Four pipeline stages, eight micro-batches: four rank simulations, none alike.
const PIPELINE: PlanRequestInput = {
  model: 'llama-3-8b',
  cluster: { gpu: 'h100-80gb', nodes: 1, gpusPerNode: 4 },
  training: { sequenceLength: 2048, gradientAccumulationSteps: 8 },
  parallelism: { pipelineParallel: 4 },
};

function jobsOf(input: PlanRequestInput) {
  const arch = resolveModel(catalog, input.model);
  const gpu = resolveGpu(catalog, input.cluster.gpu);
  return rankSimulationJobs(normalizeRequest(input, gpu, arch), arch, gpu);
}

describe('SimulationThreads', () => {
  it("returns each rank's simulation exactly as this thread simulates it", async () => {
    const jobs = jobsOf(PIPELINE);
    expect(jobs).toHaveLength(4);
    const fromThreads = await Promise.all(jobs.map((job) => threads.run(job)));
    expect(fromThreads).toEqual(jobs.map(runRankSimulationJob));
  }, 60_000);

  it('rejects with the error the simulation raised, and goes on with the next job', async () => {
    const [job] = jobsOf(PIPELINE);
    const broken = { ...job, placement: { ...job.placement, chunks: [] } };
    let thrown: unknown;
    try {
      runRankSimulationJob(broken);
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(Error);
    await expect(threads.run(broken)).rejects.toThrow((thrown as Error).message);
    await expect(threads.run(job)).resolves.toEqual(runRankSimulationJob(job));
  }, 60_000);
});

it('rejects what runs and what waits when closed, and starts anew after', async () => {
  const own = new SimulationThreads(1);
  const jobs = jobsOf(PIPELINE);
  const running = own.run(jobs[0]);
  const waiting = own.run(jobs[1]);
  await own.close();
  await expect(running).rejects.toThrow('stopped');
  await expect(waiting).rejects.toThrow('stopped');
  await expect(own.run(jobs[2])).resolves.toEqual(runRankSimulationJob(jobs[2]));
  await own.close();
}, 60_000);

describe('simulateAhead', () => {
  it('leaves every rank of the plan remembered, and the plan is the one planned here', async () => {
    const input = { ...PIPELINE, runtime: { safetyMarginBytes: 2 ** 30 + 1 } };
    const jobs = jobsOf(input);
    expect(jobs.some(isRankSimulationRemembered)).toBe(false);
    await simulateAhead([input], catalog, threads);
    expect(jobs.every(isRankSimulationRemembered)).toBe(true);
    const planned = estimatePlan(input, catalog);
    const here = jobs.map(runRankSimulationJob);
    expect(planned.memory.ranks.map((rank) => rank.reservedPeakBytes)).toEqual(
      here.map((simulation) => simulation.reservedPeakBytes),
    );
  }, 60_000);

  it('leaves a request the engine refuses to planning, which says why', async () => {
    const refused = { ...PIPELINE, parallelism: { pipelineParallel: 3 } };
    await simulateAhead([refused], catalog, threads);
    expect(() => estimatePlan(refused, catalog)).toThrow(/pipelineParallel/);
  });
});
