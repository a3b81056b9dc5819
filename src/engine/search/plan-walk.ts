// Work that plans one request after another, written as a generator that hands out the
// requests it is about to plan before planning them (PlansAhead). Run through, it is the plain
// computation; run ahead, its caller simulates each batch handed out (side by side, elsewhere)
// before the walk goes on and plans them, finding their simulations remembered. Both give the
// same answer: what a walk hands out changes nothing it computes.
import { PlanRequestInput } from '../request/normalize';

/** Requests a walk is about to plan, one after another; none where it pauses between long
 * stretches of its own work (a caller running ahead may serve others there). */
export type PlansAhead = PlanRequestInput[];

export type PlanWalk<T> = Generator<PlansAhead, T, void>;

/** The walk's answer, what it hands out ignored. */
export function walkedThrough<T>(walk: PlanWalk<T>): T {
  let step = walk.next();
  while (!step.done) step = walk.next();
  return step.value;
}

/** The walk's answer, each batch it hands out simulated before it goes on. */
export async function walkedAhead<T>(
  walk: PlanWalk<T>,
  simulate: (inputs: PlansAhead) => Promise<void>,
): Promise<T> {
  let step = walk.next();
  while (!step.done) {
    await simulate(step.value);
    step = walk.next();
  }
  return step.value;
}
