/** The process entry: `bin/shopstate.js` runs its compiled form (dist/cli/run.js), the tests run it from source. */
import { main } from "./main.js";

process.exitCode = await main(process.argv.slice(2));
