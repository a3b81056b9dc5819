// A stack deeper than any catalog model is simulated as two short ones and extrapolated: every
// layer of one kind allocates, saves and frees the same tensors, so what a moment holds grows
// linearly with the number of layers (saved activations, weights, gradients, states).
// Simulating a few layers of the steady pattern, then a period more, gives the slope. What the
// caching allocator holds beyond the live bytes does not grow so regularly (segments are reused
// as history allows), so a truncated stack takes the larger slack of its two simulations, which
// errs low: the slack grows with the stack, irregularly.
import { layerKind } from '../model/layers';
import { ModelArchitecture } from '../vocabulary';

export interface Truncation {
  short: number[];
  long: number[];
}

// Stacks up to this many layers are simulated whole: every catalog model (Llama-3.1-405B has
// 126). The allocator's slack grows with the stack: whole simulations of a Llama-3-70B rank
// (ZeRO-3, TP 4, full checkpointing) leave 2.8 GiB at 12 layers, 5.9 at 32 and 11.7 at 80, so
// truncating at 32 put 70B-class plans' reserved up to 17% under their whole simulation.
export const SIMULATED_WHOLE = 128;
// Layers a period of the layer pattern is widened to, so the allocator's segments repeat: our
// H100 runs truncated to 12 and 16 layers keep reserved within 4.4% at p90 (3.6% whole), where
// 6 and 8 layers gave 7.1% (`npm run accuracy` with SIMULATED_WHOLE lowered to 8).
const MIN_PERIOD_LAYERS = 4;

/** The smallest period p and prefix q with kinds[i] = kinds[i + p] for every i >= q. */
export function pattern(kinds: string[]): { prefix: number; period: number } {
  for (let period = 1; period <= 8; period++) {
    for (let prefix = 0; prefix <= 8; prefix++) {
      let holds = true;
      for (let i = prefix; i + period < kinds.length && holds; i++) {
        holds = kinds[i] === kinds[i + period];
      }
      if (holds) return { prefix, period };
    }
  }
  return { prefix: 0, period: kinds.length };
}

/** The two layer lists to simulate, or undefined when the stack is simulated whole. */
export function truncation(
  arch: ModelArchitecture,
  layers: number[],
  wholeUpTo = SIMULATED_WHOLE,
): Truncation | undefined {
  if (layers.length <= wholeUpTo) return undefined;
  const kinds = layers.map((layer) => layerKind(arch, layer).key);
  const { prefix, period } = pattern(kinds);
  const step = period * Math.ceil(MIN_PERIOD_LAYERS / period);
  const head = prefix + 2 * step;
  const tail = layers.slice(layers.length - step);
  if (head + 2 * step > layers.length) return undefined;
  return {
    short: [...layers.slice(0, head), ...tail],
    long: [...layers.slice(0, head + step), ...tail],
  };
}

/** The value at `layers` layers on the line through the two simulations. */
export function extrapolate(short: number, long: number, t: Truncation, layers: number): number {
  const slope = (long - short) / (t.long.length - t.short.length);
  return long + slope * (layers - t.long.length);
}
