/** The agents an eval case can be about (in their own module: the CLI names them without loading the eval). */
export const EVAL_AGENTS = ["support", "inventory", "marketing"] as const;
export type EvalAgent = (typeof EVAL_AGENTS)[number];
