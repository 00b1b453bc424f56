/** The process entry: `bin/shopstate.js` runs its bundle (dist/bundle/shopstate.js, scripts/bundle-cli.mjs), the tests run it from source. */
import { main } from "./main.js";

process.exitCode = await main(process.argv.slice(2));
