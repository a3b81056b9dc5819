import { availableParallelism } from 'node:os';
import { appConfig, MAX_DEFAULT_SIMULATION_THREADS, MAX_SIMULATION_THREADS } from './app-config';

describe('appConfig: SHARDPLAN_SIMULATION_THREADS', () => {
  const threads = (value: string | undefined, compiled: boolean) =>
    appConfig({ SHARDPLAN_SIMULATION_THREADS: value }, compiled).simulationThreads;

  it('defaults to a thread per core, capped, when compiled, and to none from the sources', () => {
    const cores = Math.min(availableParallelism(), MAX_DEFAULT_SIMULATION_THREADS);
    expect(threads(undefined, true)).toBe(cores);
    expect(threads(' ', true)).toBe(cores);
    expect(threads(undefined, false)).toBe(0);
  });

  it('takes a count from 0 to the maximum', () => {
    expect(threads('0', true)).toBe(0);
    expect(threads('3', false)).toBe(3);
    expect(threads(String(MAX_SIMULATION_THREADS), true)).toBe(MAX_SIMULATION_THREADS);
  });

  it.each(['-1', '1.5', 'two', String(MAX_SIMULATION_THREADS + 1)])(
    "refuses '%s', naming the setting and its range",
    (value) => {
      expect(() => threads(value, true)).toThrow(
        new RegExp(
          `SHARDPLAN_SIMULATION_THREADS must be an integer from 0 .* to ${MAX_SIMULATION_THREADS}, got '${value.replace('.', '\\.')}'`,
        ),
      );
    },
  );
});
