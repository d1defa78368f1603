// Lifecycle: the helper's start as a list of steps, each with its undo (docs/architecture.md,
// "Lifecycle"). Steps start in order; if one fails, the steps before it are undone in reverse
// order and the error names the step that failed, so the machine is never left half-configured.
// stop() undoes every started step in reverse order (SIGTERM, SIGINT, an internal error).
import type { Logger } from '../../../src-shared/lib/log.js';

/** Undo reverts what one step did. */
export type Undo = () => void | Promise<void>;

/** Step is one unit of bringing the helper up: start does the work and returns its undo, or
 * null when it left nothing behind to undo. A step that fails undoes its own partial work. */
export interface Step {
  readonly name: string;
  start(): Undo | null | Promise<Undo | null>;
}

/** StepError is a step that could not start; the steps before it have been undone. */
export class StepError extends Error {
  override name = 'StepError';

  constructor(
    readonly step: string,
    readonly reason: Error,
  ) {
    super(`${step}: ${reason.message}`, { cause: reason });
  }
}

/** Lifecycle runs steps in order and undoes them in reverse. */
export class Lifecycle {
  private readonly undos: Array<{ step: string; undo: Undo }> = [];

  constructor(private readonly log: Logger) {}

  /** running names the started steps whose undo is still pending, in start order. */
  get running(): string[] {
    return this.undos.map((u) => u.step);
  }

  /** start runs the steps in order; on a failure it undoes the started ones and throws StepError.
   * afterEach runs after every step that started. */
  async start(steps: readonly Step[], afterEach: () => void = () => undefined): Promise<void> {
    for (const step of steps) {
      let undo: Undo | null;
      try {
        undo = await step.start();
      } catch (e) {
        await this.stop();
        throw new StepError(step.name, e instanceof Error ? e : new Error(String(e)));
      }
      if (undo !== null) this.undos.push({ step: step.name, undo });
      afterEach();
    }
  }

  /** stop undoes every started step, last first; an undo that fails is logged and the rest still run. */
  async stop(): Promise<void> {
    while (this.undos.length > 0) {
      const { step, undo } = this.undos.pop()!;
      try {
        await undo();
      } catch (e) {
        this.log.error(`cleanup step failed (${step}): ${(e as Error).message}`);
      }
    }
  }
}
